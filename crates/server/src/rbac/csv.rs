//! The line grammar of `policy.csv`: `p, subject, resource, action, object[, effect]` and
//! `g, member, role`, comma-separated with spaces trimmed, fields optionally in double quotes
//! (`""` inside quotes is one quote), blank lines and lines starting with `#` ignored.

/// One meaningful line of a policy file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Line {
    /// `p, subject, resource, action, object[, effect]`
    Policy {
        /// Who.
        subject: String,
        /// Resource pattern.
        resource: String,
        /// Action pattern.
        action: String,
        /// Object pattern.
        object: String,
        /// `allow` (also when omitted) or `deny`.
        effect: String,
    },
    /// `g, member, role`
    Grant {
        /// User, group or role.
        member: String,
        /// The role it gets.
        role: String,
    },
}

/// Splits one CSV line into trimmed fields.
pub(crate) fn fields(line: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        // Leading spaces of a field.
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let mut field = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            loop {
                match chars.next() {
                    Some('"') if chars.peek() == Some(&'"') => {
                        chars.next();
                        field.push('"');
                    }
                    Some('"') => break,
                    Some(c) => field.push(c),
                    None => return Err("a quoted field is not closed".to_string()),
                }
            }
            while chars.peek().is_some_and(|c| c.is_whitespace()) {
                chars.next();
            }
            match chars.next() {
                None => {
                    out.push(field);
                    return Ok(out);
                }
                Some(',') => out.push(field),
                Some(c) => return Err(format!("unexpected {c:?} after a quoted field")),
            }
        } else {
            let mut ended = true;
            for c in chars.by_ref() {
                if c == ',' {
                    ended = false;
                    break;
                }
                field.push(c);
            }
            out.push(field.trim_end().to_string());
            if ended {
                return Ok(out);
            }
        }
    }
}

/// Parses one line; `None` for blank lines and comments.
pub(crate) fn parse_line(line: &str) -> Result<Option<Line>, String> {
    let trimmed = line.trim();
    if trimmed.is_empty() || trimmed.starts_with('#') {
        return Ok(None);
    }
    let f = fields(trimmed)?;
    let kind = f[0].as_str();
    match kind {
        "p" => {
            if !(f.len() == 5 || f.len() == 6) {
                return Err(format!(
                    "a 'p' line has 5 or 6 fields (p, subject, resource, action, object, effect), found {}",
                    f.len()
                ));
            }
            if let Some(empty) = f[1..5].iter().position(String::is_empty) {
                let name = ["subject", "resource", "action", "object"][empty];
                return Err(format!("the {name} of a 'p' line is empty"));
            }
            let effect = f.get(5).cloned().unwrap_or_else(|| "allow".to_string());
            if effect != "allow" && effect != "deny" {
                return Err(format!(
                    "the effect must be 'allow' or 'deny', found {effect:?}"
                ));
            }
            Ok(Some(Line::Policy {
                subject: f[1].clone(),
                resource: f[2].clone(),
                action: f[3].clone(),
                object: f[4].clone(),
                effect,
            }))
        }
        "g" => {
            if f.len() != 3 {
                return Err(format!(
                    "a 'g' line has 3 fields (g, user-or-group, role), found {}",
                    f.len()
                ));
            }
            if f[1].is_empty() || f[2].is_empty() {
                return Err("a 'g' line needs a member and a role".to_string());
            }
            Ok(Some(Line::Grant {
                member: f[1].clone(),
                role: f[2].clone(),
            }))
        }
        other => Err(format!(
            "a line starts with 'p' or 'g' (or '#' for a comment), found {other:?}"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_and_trims() {
        assert_eq!(
            fields("p,  role:ml ,applications, sync ,ml/*,allow").unwrap(),
            vec!["p", "role:ml", "applications", "sync", "ml/*", "allow"]
        );
        assert_eq!(
            fields(r#"p, "team, with comma", x, "say ""hi""", y"#).unwrap(),
            vec!["p", "team, with comma", "x", r#"say "hi""#, "y"]
        );
        assert!(fields(r#"p, "open"#).is_err());
        assert!(fields(r#"p, "a" b"#).is_err());
    }

    #[test]
    fn parses_lines() {
        assert_eq!(parse_line("  # comment").unwrap(), None);
        assert_eq!(parse_line("").unwrap(), None);
        assert_eq!(
            parse_line("g, alice, role:ml-engineer").unwrap(),
            Some(Line::Grant {
                member: "alice".into(),
                role: "role:ml-engineer".into()
            })
        );
        assert_eq!(
            parse_line("p, bob, applications, get, ml/*").unwrap(),
            Some(Line::Policy {
                subject: "bob".into(),
                resource: "applications".into(),
                action: "get".into(),
                object: "ml/*".into(),
                effect: "allow".into()
            })
        );
        assert!(parse_line("p, bob, applications, get").is_err());
        assert!(parse_line("p, bob, applications, get, x, maybe").is_err());
        assert!(parse_line("x, bob, role").is_err());
        assert!(parse_line("g, bob").is_err());
        assert!(parse_line("p, , applications, get, x").is_err());
    }

    proptest::proptest! {
        #[test]
        fn parser_never_panics(line in "\\PC{0,80}") {
            let _ = parse_line(&line);
        }

        #[test]
        fn well_formed_p_lines_round_trip(
            sub in "[a-z][a-z0-9:@._-]{0,15}",
            res in "[a-z*]{1,12}",
            act in "[a-z*/]{1,12}",
            obj in "[a-z0-9*/_-]{1,20}",
            deny in proptest::bool::ANY,
        ) {
            let effect = if deny { "deny" } else { "allow" };
            let line = format!("p , {sub},{res} ,  {act}, {obj},{effect}  ");
            let parsed = parse_line(&line).map_err(proptest::test_runner::TestCaseError::fail)?;
            proptest::prop_assert_eq!(parsed, Some(Line::Policy {
                subject: sub, resource: res, action: act, object: obj, effect: effect.to_string(),
            }));
        }

        #[test]
        fn quoted_fields_round_trip(text in "[a-z ,\"]{0,20}") {
            let quoted = format!("\"{}\"", text.replace('"', "\"\""));
            let line = format!("g, {quoted}, role:x");
            let f = fields(&line).map_err(proptest::test_runner::TestCaseError::fail)?;
            proptest::prop_assert_eq!(f, vec!["g".to_string(), text, "role:x".to_string()]);
        }
    }
}
