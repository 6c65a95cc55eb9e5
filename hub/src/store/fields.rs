//! Field names of a resource's input struct, read from its `Deserialize` implementation.
//!
//! The generic record code maps each input field to the column of the same name. Asking serde
//! for the names keeps one source of truth: the struct definition.

use std::cell::Cell;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, Visitor};

#[derive(Debug)]
struct Stop;

impl fmt::Display for Stop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("field names collected")
    }
}

impl std::error::Error for Stop {}

impl de::Error for Stop {
    fn custom<T: fmt::Display>(_msg: T) -> Self {
        Stop
    }
}

struct Introspect<'a> {
    fields: &'a Cell<Option<&'static [&'static str]>>,
}

impl<'de> Deserializer<'de> for Introspect<'_> {
    type Error = Stop;

    fn deserialize_any<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, Stop> {
        Err(Stop)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        _visitor: V,
    ) -> Result<V::Value, Stop> {
        self.fields.set(Some(fields));
        Err(Stop)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier
        ignored_any
    }
}

/// The serialized field names of the struct `T`, in declaration order. Empty for non-structs.
pub fn field_names<'de, T: Deserialize<'de>>() -> &'static [&'static str] {
    let fields = Cell::new(None);
    let _ = T::deserialize(Introspect { fields: &fields });
    fields.get().unwrap_or(&[])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[allow(dead_code)]
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Sample {
        name: String,
        #[serde(rename = "lat")]
        latitude: f64,
        note: Option<String>,
    }

    #[test]
    fn names_come_out_as_serialized() {
        assert_eq!(field_names::<Sample>(), &["name", "lat", "note"]);
        assert!(field_names::<String>().is_empty());
    }
}
