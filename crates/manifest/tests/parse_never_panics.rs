//! Property test: parsing arbitrary text never panics and errors always carry a position.

use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,200}") {
        match ferrocd_manifest::parse_documents(&text, "fuzz.yaml") {
            Ok(docs) => for d in docs { prop_assert!(!d.kind().is_empty()); }
            Err(err) => prop_assert!(err.to_string().starts_with("fuzz.yaml:")),
        }
    }

    #[test]
    fn yaml_like_text_never_panics(lines in proptest::collection::vec(
        prop_oneof![Just("---".to_string()), Just("kind: A".to_string()), Just("apiVersion: v1".to_string()),
                    Just("  - x".to_string()), Just("a: [1, {b: 2".to_string()), "[a-z:\\- ]{0,12}"], 0..12)) {
        let text = lines.join("\n");
        let _ = ferrocd_manifest::parse_documents(&text, "fuzz.yaml");
    }
}
