//! Amazon Data Firehose.
