//! Goal: random memory command sequences fold to the same state as a plain `BTreeMap` model,
//! and every query path (fluent chain, filter struct, index-backed planner over the tag,
//! pinned and created indexes, full scan, the model's own evaluation) returns the same rows.

use std::collections::BTreeMap;
use std::sync::Arc;

use cortex::memories::{MemoriesAdapter, MemoriesFilter, MemoriesState, Memory};
use proptest::prelude::*;

#[path = "common/query_model.rs"]
mod query_model;
use query_model::{cursor_at, ordered, page_through, plain, ORDERS};

#[derive(Debug, Clone)]
enum Cmd {
    Store(u64, &'static str, Vec<&'static str>, &'static str, u64),
    Retag(u64, Vec<&'static str>, u64),
    Pin(u64, u64),
    Unpin(u64, u64),
    Delete(u64, u64),
}

const TAGS: [&str; 4] = ["work", "home", "urgent", "later"];
const CONTENTS: [&str; 3] = ["buy milk", "ship the build", "milk the build"];
const SOURCES: [&str; 2] = ["chat", "mail"];

fn tags() -> impl Strategy<Value = Vec<&'static str>> {
    prop::collection::vec(prop::sample::select(&TAGS[..]), 0..4)
}

fn cmd() -> impl Strategy<Value = Cmd> {
    let id = 0u64..12;
    let now = 0u64..40;
    prop_oneof![
        3 => (id.clone(), prop::sample::select(&CONTENTS[..]), tags(), prop::sample::select(&SOURCES[..]), now.clone())
            .prop_map(|(i, c, t, s, n)| Cmd::Store(i, c, t, s, n)),
        2 => (id.clone(), tags(), now.clone()).prop_map(|(i, t, n)| Cmd::Retag(i, t, n)),
        1 => (id.clone(), now.clone()).prop_map(|(i, n)| Cmd::Pin(i, n)),
        1 => (id.clone(), now.clone()).prop_map(|(i, n)| Cmd::Unpin(i, n)),
        1 => (id, now).prop_map(|(i, n)| Cmd::Delete(i, n)),
    ]
}

fn apply_model(model: &mut BTreeMap<u64, Memory>, cmd: &Cmd) {
    match cmd {
        Cmd::Store(id, content, tags, source, now) => {
            model.entry(*id).or_insert(Memory {
                id: *id,
                content: (*content).into(),
                tags: tags.iter().map(|t| (*t).into()).collect(),
                source: (*source).into(),
                created_ns: *now,
                updated_ns: *now,
                pinned: false,
            });
        }
        Cmd::Retag(id, tags, now) => {
            if let Some(m) = model.get_mut(id) {
                m.tags = tags.iter().map(|t| (*t).into()).collect();
                m.updated_ns = *now;
            }
        }
        Cmd::Pin(id, now) | Cmd::Unpin(id, now) => {
            if let Some(m) = model.get_mut(id) {
                m.pinned = matches!(cmd, Cmd::Pin(..));
                m.updated_ns = *now;
            }
        }
        Cmd::Delete(id, _) => {
            model.remove(id);
        }
    }
}

type Raw = (MemoriesFilter, Option<(u64, u64, u64)>);

fn filter() -> impl Strategy<Value = Raw> {
    let tag = || {
        prop::sample::select(&["work", "home", "urgent", "later", "nope"][..])
            .prop_map(str::to_owned)
    };
    let tag_list = move || prop::option::of(prop::collection::vec(tag(), 0..3));
    let opt_t = || prop::option::of(0u64..42);
    (
        (
            prop::option::of(prop::collection::vec(0u64..14, 0..5)),
            prop::option::of(tag()),
            tag_list(),
            tag_list(),
        ),
        (
            prop::option::of(
                prop::sample::select(&["chat", "mail", "x"][..]).prop_map(str::to_owned),
            ),
            prop::option::of(
                prop::sample::select(&["milk", "build", "zzz"][..]).prop_map(str::to_owned),
            ),
            prop::option::of(any::<bool>()),
        ),
        (opt_t(), opt_t(), opt_t(), opt_t()),
        (
            prop::option::of(prop::sample::select(&ORDERS[..])),
            prop::option::of(0usize..6),
            prop::option::of((0u64..14, 0u64..42, 0u64..42)),
        ),
    )
        .prop_map(
            |(
                (id_in, tag, any_tags, all_tags),
                (source, content, pinned),
                (ca, cb, ua, ub),
                (order_by, limit, cursor),
            )| {
                let f = MemoriesFilter {
                    id_in,
                    tag,
                    any_tags,
                    all_tags,
                    source,
                    content_contains: content,
                    pinned,
                    created_after_ns: ca,
                    created_before_ns: cb,
                    updated_after_ns: ua,
                    updated_before_ns: ub,
                    order_by,
                    limit,
                    after: None,
                };
                (f, cursor)
            },
        )
}

fn model_query(model: &BTreeMap<u64, Memory>, f: &MemoriesFilter) -> Vec<Memory> {
    let has = |m: &Memory, t: &String| m.tags.iter().any(|x| x == t);
    let rows: Vec<Memory> = model
        .values()
        .filter(|m| f.id_in.as_ref().is_none_or(|ids| ids.contains(&m.id)))
        .filter(|m| f.tag.as_ref().is_none_or(|t| has(m, t)))
        .filter(|m| f.any_tags.as_ref().is_none_or(|ts| ts.iter().any(|t| has(m, t))))
        .filter(|m| f.all_tags.as_ref().is_none_or(|ts| ts.iter().all(|t| has(m, t))))
        .filter(|m| f.source.as_ref().is_none_or(|s| m.source == *s))
        .filter(|m| f.content_contains.as_ref().is_none_or(|s| m.content.contains(s.as_str())))
        .filter(|m| f.pinned.is_none_or(|p| m.pinned == p))
        .filter(|m| f.created_after_ns.is_none_or(|x| m.created_ns > x))
        .filter(|m| f.created_before_ns.is_none_or(|x| m.created_ns < x))
        .filter(|m| f.updated_after_ns.is_none_or(|x| m.updated_ns > x))
        .filter(|m| f.updated_before_ns.is_none_or(|x| m.updated_ns < x))
        .cloned()
        .collect();
    ordered(rows, f.order(), f.after, f.limit)
}

fn fluent(state: &MemoriesState, f: &MemoriesFilter) -> Vec<Arc<Memory>> {
    let mut q = state.query();
    if let Some(t) = &f.tag {
        q = q.where_tag(t.clone());
    }
    if let Some(ts) = &f.any_tags {
        q = q.where_any_tag(ts.iter().cloned());
    }
    if let Some(ts) = &f.all_tags {
        q = q.where_all_tags(ts.iter().cloned());
    }
    if let Some(s) = &f.source {
        q = q.where_source(s.clone());
    }
    if let Some(s) = &f.content_contains {
        q = q.content_contains(s.clone());
    }
    if let Some(p) = f.pinned {
        q = q.where_pinned(p);
    }
    query_model::shared_setters!(q, f);
    assert_eq!(q.filter(), f, "the fluent chain builds the same filter");
    q.collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn fold_and_queries_agree_with_model(
        cmds in prop::collection::vec(cmd(), 0..60),
        filters in prop::collection::vec(filter(), 1..12),
    ) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let redex = redex::Redex::new();
            let memories = MemoriesAdapter::open(&redex, 7).unwrap();
            let mut model = BTreeMap::new();
            let mut last = None;
            for c in &cmds {
                apply_model(&mut model, c);
                last = Some(match c {
                    Cmd::Store(id, content, tags, source, n) => memories.store(*id, content, tags, source, *n),
                    Cmd::Retag(id, tags, n) => memories.retag(*id, tags, *n),
                    Cmd::Pin(id, n) => memories.pin(*id, *n),
                    Cmd::Unpin(id, n) => memories.unpin(*id, *n),
                    Cmd::Delete(id, n) => memories.delete(*id, *n),
                }.unwrap());
            }
            if let Some(seq) = last {
                memories.wait_for_seq(seq).await.unwrap();
            }
            {
                let state = memories.state().read();
                let folded: Vec<Memory> = state.iter().map(|m| (**m).clone()).collect();
                let expected: Vec<Memory> = model.values().cloned().collect();
                prop_assert_eq!(&folded, &expected);
                // The tag index holds exactly the tags in use.
                let mut in_use: BTreeMap<&str, usize> = BTreeMap::new();
                for m in model.values() {
                    let mut distinct: Vec<&str> = m.tags.iter().map(|t| t.as_str()).collect();
                    distinct.sort_unstable();
                    distinct.dedup();
                    for t in distinct {
                        *in_use.entry(t).or_default() += 1;
                    }
                }
                let indexed: BTreeMap<&str, usize> = state.tag_counts().collect();
                prop_assert_eq!(indexed, in_use);

                for (mut f, cursor) in filters {
                    f.after = cursor.map(|at| cursor_at(f.order_by.unwrap_or_default(), at));
                    let want = model_query(&model, &f);
                    prop_assert_eq!(&plain(state.find_many(&f)), &want, "index-backed, filter {:?}", f);
                    prop_assert_eq!(&plain(state.find_many_scan(&f)), &want, "scan, filter {:?}", f);
                    prop_assert_eq!(&plain(fluent(&state, &f)), &want, "fluent, filter {:?}", f);
                    prop_assert_eq!(state.count_where(&f), want.len(), "count_where {:?}", f);
                    prop_assert_eq!(state.exists_where(&f), !want.is_empty(), "exists_where {:?}", f);

                    let paged = page_through(f.after, |after| {
                        state.find_page(&MemoriesFilter { limit: Some(2), after, ..f.clone() })
                    });
                    let all = model_query(&model, &MemoriesFilter { limit: None, ..f.clone() });
                    prop_assert_eq!(&plain(paged), &all, "paging {:?}", f);
                }
            }
            memories.close().await.unwrap();
            Ok(())
        })?;
    }
}
