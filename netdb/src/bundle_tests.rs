//! The hand-written bundle body is exactly what postcard writes for the same values.

use serde::Serialize;

use super::*;

#[derive(Serialize)]
struct Model<'a> {
    name: &'a str,
    kind: ModelKind,
    schema_version: u32,
    last_seq: Option<u64>,
    state: &'a [u8],
}

fn sample() -> NetDbSnapshot {
    NetDbSnapshot::from_models(vec![
        ModelSnapshot {
            name: "orders".into(),
            kind: ModelKind::Custom,
            schema_version: 300,
            last_seq: Some(1 << 33),
            state: vec![7; 200],
        },
        ModelSnapshot {
            name: "cortex/tasks".into(),
            kind: ModelKind::Tasks,
            schema_version: 1,
            last_seq: None,
            state: vec![],
        },
    ])
    .unwrap()
}

#[test]
fn body_is_postcard() {
    let bundle = sample();
    let encoded = bundle.encode();
    let models: Vec<Model<'_>> = bundle
        .models()
        .iter()
        .map(|m| Model {
            name: &m.name,
            kind: m.kind,
            schema_version: m.schema_version,
            last_seq: m.last_seq,
            state: &m.state,
        })
        .collect();
    let body = postcard::to_allocvec(&models).unwrap();
    assert_eq!(&encoded[BUNDLE_HEADER_LEN..], &body[..]);
    assert_eq!(NetDbSnapshot::decode(&encoded).unwrap(), bundle);
}

#[test]
fn models_are_sorted_and_unique() {
    let bundle = sample();
    let names: Vec<&str> = bundle.models().iter().map(|m| m.name.as_str()).collect();
    assert_eq!(names, ["cortex/tasks", "orders"]);
    assert!(bundle.model("orders").is_some());
    assert!(bundle.model("nope").is_none());
    let mut twice = bundle.clone().into_models();
    twice.push(twice[0].clone());
    assert!(matches!(
        NetDbSnapshot::from_models(twice),
        Err(NetDbError::DuplicateModel { name }) if name == "cortex/tasks"
    ));
}
