//! End-to-end tests of the runner on a miniature fig-3.3: determinism across thread counts,
//! shards that merge to the unsharded bytes, resumption from cached cells, and bad input.

use registry::Tier;
use std::path::Path;
use xtask::layout::{Destination, Layout};
use xtask::pipeline::{parse_shard, reproduce, Request, RunOutcome};

const TINY: [&str; 11] = [
    "t_points=3",
    "discrete_points=64",
    "tg_xtildes=20",
    "tg_inner=20",
    "tg_stf_xtildes=5",
    "tg_redraws=3",
    "discrete_xtildes=10",
    "discrete_inner=10",
    "discrete_stf_xtildes=4",
    "discrete_redraws=3",
    "ns=[1, 2, 8]",
];

fn request(id: &str, out: &Path, sets: &[&str], shard: Option<(usize, usize)>, fresh: bool) -> Request {
    let layout = Layout::workspace();
    Request {
        id: id.into(),
        tier: None,
        sets: sets.iter().map(|s| s.to_string()).collect(),
        shard,
        fresh,
        retrain: false,
        dest: Destination::run(&layout, id, Some(out)),
        quiet: true,
    }
}

fn run_in_pool(threads: usize, req: &Request) -> RunOutcome {
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
    pool.install(|| reproduce(&Layout::workspace(), req)).unwrap()
}

fn read(dir: &Path, f: &str) -> Vec<u8> {
    std::fs::read(dir.join(f)).unwrap_or_else(|e| panic!("{}: {e}", dir.join(f).display()))
}

const OUTPUTS: [&str; 4] = ["fig-3.3/per_t.csv", "fig-3.3/vstf.csv", "fig-3.3/summary.csv", "fig-3.3/discrete_set.csv"];

#[test]
fn same_bytes_with_one_and_two_threads() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    assert!(matches!(
        run_in_pool(1, &request("fig-3.3", a.path(), &TINY, None, true)),
        RunOutcome::Finished(_)
    ));
    assert!(matches!(
        run_in_pool(2, &request("fig-3.3", b.path(), &TINY, None, true)),
        RunOutcome::Finished(_)
    ));
    for f in OUTPUTS {
        assert_eq!(read(a.path(), f), read(b.path(), f), "{f} differs between 1 and 2 threads");
    }
}

#[test]
fn shards_merge_to_the_unsharded_bytes_and_resume_from_cache() {
    let (whole, sharded) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    run_in_pool(2, &request("fig-3.3", whole.path(), &TINY, None, true));
    for i in 0..3 {
        match run_in_pool(2, &request("fig-3.3", sharded.path(), &TINY, Some((i, 3)), false)) {
            RunOutcome::Partial { cached, total } => assert!(i < 2 && cached < total, "shard {i}: {cached}/{total}"),
            RunOutcome::Finished(_) => assert_eq!(i, 2, "only the last shard completes the set"),
        }
    }
    // A plain rerun finds every cell cached (nothing recomputed) and writes the same outputs.
    run_in_pool(2, &request("fig-3.3", sharded.path(), &TINY, None, false));
    for f in OUTPUTS {
        assert_eq!(read(whole.path(), f), read(sharded.path(), f), "{f}: sharded run differs");
    }
    let manifest: serde_json::Value = serde_json::from_slice(&read(sharded.path(), "fig-3.3/manifest.json")).unwrap();
    assert_eq!(manifest["seed"], 0);
    assert!(manifest["outputs"].as_object().unwrap().keys().any(|k| k.ends_with("per_t.csv")));
}

fn err(req: &Request) -> String {
    format!("{:#}", reproduce(&Layout::workspace(), req).unwrap_err())
}

#[test]
fn bad_input_is_named_and_nothing_written_is_lost() {
    let out = tempfile::tempdir().unwrap();
    let e = err(&request("fig-3.4x", out.path(), &[], None, true));
    assert!(
        e.contains("unknown experiment id `fig-3.4x`") && e.contains("fig-3.3") && e.contains("valid ids"),
        "{e}"
    );
    let e = err(&request("fig-3.3", out.path(), &["t_pointz=3"], None, true));
    assert!(e.contains("unknown parameter `t_pointz`") && e.contains("t_points"), "{e}");
    let e = err(&request("fig-3.3", out.path(), &["t_points=many"], None, true));
    assert!(e.contains("`t_points`") && e.contains("integer"), "{e}");
    let e = err(&request("fig-3.3", out.path(), &["t_points=1"], None, true));
    assert!(e.contains("`t_points`") && e.contains("range"), "{e}");
    let e = err(&request("fig-3.3", out.path(), &["ns=[2, 4]"], None, true));
    assert!(e.contains("`ns`") && e.contains("start at 1"), "{e}");

    let mut r = request("fig-3.3", out.path(), &TINY, None, true);
    r.tier = Some(Tier::Small);
    let e = err(&r);
    assert!(e.contains("no `small` tier") && e.contains("exact"), "{e}");

    // An output folder that cannot be created: a file stands where the folder should be.
    let blocker = out.path().join("blocked");
    std::fs::write(&blocker, b"keep me").unwrap();
    let e = err(&request("fig-3.3", &blocker, &TINY, None, true));
    assert!(e.contains("cannot create the output folder"), "{e}");
    assert_eq!(std::fs::read(&blocker).unwrap(), b"keep me");

    for bad in ["3", "3/3", "a/2", "1/0"] {
        assert!(parse_shard(bad).is_err(), "{bad}");
    }
    assert_eq!(parse_shard("1/4").unwrap(), (1, 4));
}
