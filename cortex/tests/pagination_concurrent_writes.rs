//! Goal: paging with cursors while writes continue returns every row that existed throughout
//! exactly once, in order, whatever is created or deleted between pages.

use std::collections::BTreeSet;

use cortex::tasks::{TaskStatus, TasksAdapter, TasksFilter};
use cortex::OrderBy;
use redex::Redex;

#[tokio::test]
async fn cursor_pages_are_stable_under_writes() {
    for order in [OrderBy::IdAsc, OrderBy::IdDesc, OrderBy::CreatedAsc, OrderBy::CreatedDesc] {
        let redex = Redex::new();
        let tasks = TasksAdapter::open(&redex, 1).unwrap();
        let mut last = 0;
        // Even ids survive the whole test; odd ids get deleted while paging.
        for id in (0..200u64).map(|i| i * 10) {
            last = tasks.create(id, "t", 1_000 + id).unwrap();
        }
        tasks.wait_for_seq(last).await.unwrap();
        let survivors: BTreeSet<u64> =
            (0..200u64).map(|i| i * 10).filter(|id| id % 20 == 0).collect();

        let mut filter = TasksFilter {
            status: Some(TaskStatus::Pending),
            order_by: Some(order),
            limit: Some(7),
            ..TasksFilter::default()
        };
        let mut seen = Vec::new();
        for round in 0u64..1000 {
            let page = tasks.state().read().find_page(&filter);
            seen.extend(page.items.iter().map(|t| t.id));
            // Between pages: create new rows (between existing ids and times) and delete some.
            let mut last = tasks.create(round * 10 + 5, "new", 1_000 + round * 10 + 5).unwrap();
            if let Some(victim) =
                (0..200u64).map(|i| i * 10 + 10).filter(|id| id % 20 == 10).nth(round as usize)
            {
                last = tasks.delete(victim, 0).unwrap();
            }
            tasks.wait_for_seq(last).await.unwrap();
            match page.next {
                Some(c) => filter.after = Some(c),
                None => break,
            }
        }
        let unique: BTreeSet<u64> = seen.iter().copied().collect();
        assert_eq!(unique.len(), seen.len(), "{order:?}: a row was returned twice");
        assert!(survivors.is_subset(&unique), "{order:?}: a surviving row was skipped");
        let mut sorted = seen.clone();
        sorted.sort_unstable();
        if matches!(order, OrderBy::IdDesc | OrderBy::CreatedDesc) {
            sorted.reverse();
        }
        assert_eq!(seen, sorted, "{order:?}: pages out of order");
        tasks.close().await.unwrap();
    }
}
