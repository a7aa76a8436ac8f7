//! Reading a node's attributes and naming it in errors.

use crate::proto::{AttributeProto, NodeProto};

/// The attribute `name` of `node`.
pub fn attribute<'a>(node: &'a NodeProto, name: &str) -> Option<&'a AttributeProto> {
    node.attribute.iter().find(|a| a.name.as_deref() == Some(name))
}

/// An integer attribute, or `default`.
pub fn int_attribute(node: &NodeProto, name: &str, default: i64) -> i64 {
    attribute(node, name).and_then(|a| a.i).unwrap_or(default)
}

/// A float attribute, or `default`.
pub fn float_attribute(node: &NodeProto, name: &str, default: f32) -> f32 {
    attribute(node, name).and_then(|a| a.f).unwrap_or(default)
}

/// An integer-list attribute.
pub fn ints_attribute(node: &NodeProto, name: &str) -> Option<Vec<i64>> {
    attribute(node, name).map(|a| a.ints.clone())
}

/// A float-list attribute.
pub fn floats_attribute(node: &NodeProto, name: &str) -> Option<Vec<f32>> {
    attribute(node, name).map(|a| a.floats.clone())
}

/// A string attribute (UTF-8, lossy).
pub fn string_attribute(node: &NodeProto, name: &str) -> Option<String> {
    attribute(node, name).and_then(|a| a.s.as_ref()).map(|s| String::from_utf8_lossy(s).to_string())
}

/// A string-list attribute.
pub fn strings_attribute(node: &NodeProto, name: &str) -> Option<Vec<String>> {
    attribute(node, name).map(|a| a.strings.iter().map(|s| String::from_utf8_lossy(s).to_string()).collect())
}

/// The node's name for errors: its name, or its first output's.
pub fn node_name(node: &NodeProto) -> String {
    match node.name.as_deref() {
        Some(name) if !name.is_empty() => name.to_string(),
        _ => node.output.first().cloned().unwrap_or_default(),
    }
}
