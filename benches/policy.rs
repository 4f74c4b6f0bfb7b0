//! The cost of a guard check and of computing a viewer's effective permissions, for the
//! largest preset and for synthetic policies of growing size (the check must stay flat).
//!
//! Run with `cargo bench --bench policy`; criterion prints the time per call.

use std::hint::black_box;

use charter::authz::Policy;
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};

const THREATQ: &str = include_str!("../examples/policies/threatq.toml");

/// The built-in policy with `extra` more resources of five levels each.
fn grown_policy(extra: usize) -> Policy {
    let mut source = Policy::built_in_source().to_owned();
    for index in 0..extra {
        source.push_str(&format!(
            "\n[[resources]]\nkey = \"r{index}\"\nname = \"R{index}\"\ngroup = \"Grown\"\nlevels = [\"none\", \"read\", \"create\", \"edit\", \"full\"]\n"
        ));
    }
    Policy::from_toml(&source).expect("a valid grown policy")
}

fn checks(c: &mut Criterion) {
    let threatq = Policy::from_toml(THREATQ).expect("the ThreatQ preset");
    let role = threatq
        .role_by_key("primary_contributor")
        .unwrap_or_else(|| &threatq.roles()[1]);
    let features: Vec<String> = threatq.features().iter().map(|f| f.key.clone()).collect();
    let effective = threatq.effective(&role.grants, &features);

    let mut group = c.benchmark_group("check");
    group.bench_function("threatq: member read (by name)", |b| {
        b.iter(|| {
            threatq.allows(
                black_box(&effective),
                black_box("member"),
                black_box("read"),
            )
        })
    });
    let (resource, level) = threatq.level_of("list", "edit").unwrap();
    group.bench_function("threatq: list edit (compiled index)", |b| {
        b.iter(|| black_box(&effective).allows(black_box(resource), black_box(level)))
    });
    for extra in [10, 100, 1_000, 5_000] {
        let policy = grown_policy(extra);
        let owner = &policy.owner_role().grants;
        let last = format!("r{}", extra - 1);
        group.bench_with_input(
            BenchmarkId::new(
                "grown policy: last resource (by name)",
                policy.resources().len(),
            ),
            &last,
            |b, last| {
                b.iter(|| policy.allows(black_box(owner), black_box(last), black_box("edit")))
            },
        );
    }
    group.finish();

    let mut group = c.benchmark_group("effective permissions");
    group.bench_function("threatq: mask features and list every grant", |b| {
        b.iter(|| {
            let grants = threatq.effective(black_box(&role.grants), black_box(&features));
            threatq
                .describe(&grants)
                .map(|(resource, level)| resource.len() + level.len())
                .sum::<usize>()
        })
    });
    group.finish();
}

criterion_group!(benches, checks);
criterion_main!(benches);
