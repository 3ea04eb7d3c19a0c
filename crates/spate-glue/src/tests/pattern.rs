use crate::pattern::Pattern;

fn matches(expression: &str, name: &str) -> bool {
    Pattern::parse(expression).unwrap().matches(name)
}

#[test]
fn hive_patterns_match_whole_names_ignoring_case() {
    assert!(matches("orders*", "orders_2024"));
    assert!(matches("orders.*", "orders"));
    assert!(matches("*_2024", "orders_2024"));
    assert!(matches("o*s*4", "orders_2024"));
    assert!(matches("ORDERS", "orders"));
    assert!(matches("a|b|orders", "orders"));
    assert!(matches("ord.rs", "orders"));
    assert!(!matches("ord.rs", "ordrs"));
    assert!(
        !matches("orders", "orders_2024"),
        "the whole name, not a prefix"
    );
    assert!(!matches("2024", "orders_2024"));
    assert!(matches("**", ""));
    assert!(!matches("a|", "b"));
}

#[test]
fn other_regular_expression_syntax_is_refused() {
    for e in ["a+", "^a", "a$", "(a)", "[ab]", "a{2}", "a?", r"a\d"] {
        assert!(Pattern::parse(e).is_err(), "{e}");
    }
}

#[test]
fn hostile_patterns_stay_linear_enough() {
    let pattern = "*a".repeat(500) + "b";
    let name = "a".repeat(255);
    assert!(!matches(&pattern, &name));
}
