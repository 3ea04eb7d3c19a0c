//! Validation with Lambda's wording: model constraints are collected into one
//! ValidationException ("N validation errors detected: Value '...' at '...' failed to satisfy
//! constraint: ..."), as AWS's front end reports them.

use crate::errors::{validation, LambdaError};

#[derive(Default)]
pub struct Validator {
    errors: Vec<String>,
}

impl Validator {
    fn push(&mut self, value: impl std::fmt::Display, member: &str, constraint: &str) {
        self.errors.push(format!(
            "Value '{value}' at '{member}' failed to satisfy constraint: {constraint}"
        ));
    }

    pub fn required<T>(&mut self, value: &Option<T>, member: &str) {
        if value.is_none() {
            self.errors.push(format!(
                "Value null at '{member}' failed to satisfy constraint: Member must not be null"
            ));
        }
    }

    pub fn range(&mut self, value: Option<i64>, member: &str, min: i64, max: i64) {
        if let Some(v) = value {
            if v < min {
                self.push(
                    v,
                    member,
                    &format!("Member must have value greater than or equal to {min}"),
                );
            } else if v > max {
                self.push(
                    v,
                    member,
                    &format!("Member must have value less than or equal to {max}"),
                );
            }
        }
    }

    pub fn length(&mut self, value: Option<&str>, member: &str, min: usize, max: usize) {
        if let Some(v) = value {
            let n = v.chars().count();
            if n < min {
                self.push(
                    v,
                    member,
                    &format!("Member must have length greater than or equal to {min}"),
                );
            } else if n > max {
                self.push(
                    v,
                    member,
                    &format!("Member must have length less than or equal to {max}"),
                );
            }
        }
    }

    pub fn one_of(&mut self, value: Option<&str>, member: &str, allowed: &[&str]) {
        if let Some(v) = value {
            if !allowed.contains(&v) {
                let set = allowed.join(", ");
                self.push(
                    v,
                    member,
                    &format!("Member must satisfy enum value set: [{set}]"),
                );
            }
        }
    }

    pub fn finish(self) -> Result<(), LambdaError> {
        match self.errors.len() {
            0 => Ok(()),
            n => {
                let noun = if n == 1 { "error" } else { "errors" };
                Err(validation(format!(
                    "{n} validation {noun} detected: {}",
                    self.errors.join("; ")
                )))
            }
        }
    }
}
