//! The published schema of `--json` events (`docs/events.schema.json`,
//! JSON Schema 2020-12) and a checker for the part of JSON Schema it uses.
//!
//! The tests check every event they see against the schema, so the file
//! people validate against is the one the binary is held to. The checker
//! refuses a keyword it does not implement rather than ignore it, so the
//! schema cannot say more than is checked.

use serde_json::Value;

/// The schema, as shipped.
pub const EVENTS: &str = include_str!("../docs/events.schema.json");

/// The keywords the checker implements; `title`, `description` and the
/// `$schema` marker are annotations.
const KEYWORDS: &[&str] = &[
    "$schema",
    "$defs",
    "$ref",
    "title",
    "description",
    "anyOf",
    "type",
    "properties",
    "required",
    "additionalProperties",
    "enum",
    "const",
    "items",
    "minimum",
    "maximum",
];

/// Checks `value` against the events schema; the error says where and why.
pub fn check_event(value: &Value) -> Result<(), String> {
    let schema: Value = serde_json::from_str(EVENTS).map_err(|e| format!("the schema: {e}"))?;
    Checker { root: &schema }.check(&schema, value, "")
}

struct Checker<'a> {
    root: &'a Value,
}

impl Checker<'_> {
    fn check(&self, schema: &Value, value: &Value, at: &str) -> Result<(), String> {
        let Some(schema) = schema.as_object() else {
            return Err(format!("{at}: the schema is not an object"));
        };
        if let Some(unknown) = schema.keys().find(|k| !KEYWORDS.contains(&k.as_str())) {
            return Err(format!(
                "{at}: the schema uses `{unknown}`, which is not checked"
            ));
        }
        if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
            let name = reference
                .strip_prefix("#/$defs/")
                .ok_or_else(|| format!("{at}: only #/$defs/ references: {reference}"))?;
            let target = &self.root["$defs"][name];
            if target.is_null() {
                return Err(format!("{at}: no definition `{name}`"));
            }
            self.check(target, value, at)?;
        }
        if let Some(alternatives) = schema.get("anyOf").and_then(Value::as_array) {
            let mut reasons = Vec::new();
            for alternative in alternatives {
                match self.check(alternative, value, at) {
                    Ok(()) => {
                        reasons.clear();
                        break;
                    }
                    Err(reason) => reasons.push(reason),
                }
            }
            if !reasons.is_empty() {
                // An alternative for this very event says the most.
                let same_event = reasons.iter().find(|r| !r.starts_with("/event:"));
                return Err(same_event.unwrap_or(&reasons[0]).clone());
            }
        }
        if let Some(types) = schema.get("type") {
            let allowed: Vec<&str> = match types {
                Value::String(one) => vec![one.as_str()],
                Value::Array(many) => many.iter().filter_map(Value::as_str).collect(),
                _ => return Err(format!("{at}: `type` is not a name or list")),
            };
            if !allowed.iter().any(|t| is_type(value, t)) {
                return Err(format!("{at}: {value} is not of type {allowed:?}"));
            }
        }
        if let Some(constant) = schema.get("const") {
            if value != constant {
                return Err(format!("{at}: {value} is not {constant}"));
            }
        }
        if let Some(choices) = schema.get("enum").and_then(Value::as_array) {
            if !choices.contains(value) {
                return Err(format!("{at}: {value} is not one of {choices:?}"));
            }
        }
        if let Some(number) = value.as_f64() {
            if let Some(minimum) = schema.get("minimum").and_then(Value::as_f64) {
                if number < minimum {
                    return Err(format!("{at}: {value} is below {minimum}"));
                }
            }
            if let Some(maximum) = schema.get("maximum").and_then(Value::as_f64) {
                if number > maximum {
                    return Err(format!("{at}: {value} is above {maximum}"));
                }
            }
        }
        if let (Some(items), Some(array)) = (schema.get("items"), value.as_array()) {
            for (i, item) in array.iter().enumerate() {
                self.check(items, item, &format!("{at}/{i}"))?;
            }
        }
        if let Some(object) = value.as_object() {
            let properties = schema.get("properties").and_then(Value::as_object);
            // Which event this is decides first, so an error names what is
            // wrong with the event it is, not with another.
            if let (Some(event), Some(property)) =
                (object.get("event"), properties.and_then(|p| p.get("event")))
            {
                self.check(property, event, &format!("{at}/event"))?;
            }
            for name in schema
                .get("required")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
            {
                if !object.contains_key(name) {
                    return Err(format!("{at}: `{name}` is missing"));
                }
            }
            for (name, item) in object {
                match properties.and_then(|p| p.get(name)) {
                    Some(property) => self.check(property, item, &format!("{at}/{name}"))?,
                    None if schema.get("additionalProperties") == Some(&Value::Bool(false)) => {
                        return Err(format!("{at}: `{name}` is not a known key"));
                    }
                    None => {}
                }
            }
        }
        Ok(())
    }
}

fn is_type(value: &Value, name: &str) -> bool {
    match name {
        "object" => value.is_object(),
        "array" => value.is_array(),
        "string" => value.is_string(),
        "boolean" => value.is_boolean(),
        "null" => value.is_null(),
        "number" => value.is_number(),
        "integer" => value.is_i64() || value.is_u64(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_checker_catches_what_the_schema_forbids() {
        let good = serde_json::json!({"event": "warning", "message": "careful"});
        assert_eq!(check_event(&good), Ok(()));
        for bad in [
            serde_json::json!({"event": "warning"}),
            serde_json::json!({"event": "warning", "message": 3}),
            serde_json::json!({"event": "warning", "message": "x", "extra": 1}),
            serde_json::json!({"event": "no_such_event"}),
            serde_json::json!({"event": "folder", "folder": "INBOX", "messages": -1, "bytes": 0}),
            serde_json::json!({"event": "summary", "exit_code": 2, "error_kind": "bogus"}),
        ] {
            assert!(check_event(&bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn every_definition_of_the_schema_is_an_event_or_used_by_one() {
        let schema: Value = serde_json::from_str(EVENTS).unwrap();
        let text = EVENTS;
        for name in schema["$defs"].as_object().unwrap().keys() {
            assert!(
                text.contains(&format!("\"#/$defs/{name}\"")),
                "`{name}` is defined but never used"
            );
        }
    }
}
