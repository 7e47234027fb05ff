//! Planning micro-benchmark: build and plan `(x + x.T)[::2, n/2:].mean(axis 1)` for
//! n = 100 000 with chunks of 100 (10^6 source blocks), without computing anything.
//!
//! Times three steps separately (median of 5): building the expression, lowering it to
//! stages, and building the culled task graph plus its priority order (what `compute` does
//! before the first task runs). Prints the peak RSS of the process (VmHWM).
//!
//! Run: `cargo bench --bench plan` (add `-- --n 10000 --chunk 10` for other sizes).

use std::time::Instant;

use anyhow::Result;
use brickwork::schedule::{Cancel, RootOrder, TaskGraph, order};
use brickwork::{Array, Axis, s};

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

fn main() -> Result<()> {
    let mut n = 100_000usize;
    let mut chunk = 100usize;
    let args: Vec<String> = std::env::args().collect();
    for w in args.windows(2) {
        match w[0].as_str() {
            "--n" => n = w[1].parse()?,
            "--chunk" => chunk = w[1].parse()?,
            _ => {}
        }
    }
    let (mut build, mut lower, mut graph_t, mut total) = (vec![], vec![], vec![], vec![]);
    let mut tasks = 0;
    for _ in 0..5 {
        let t0 = Instant::now();
        let x = Array::random(&[n, n], &[chunk, chunk], 0)?;
        let v = (&x + &x.t())
            .slice(s![..;2, (n / 2) as isize..])?
            .mean_axis(Axis(1))?;
        let t1 = Instant::now();
        let plan = v.plan()?;
        let t2 = Instant::now();
        let graph = TaskGraph::build(&plan, u64::MAX, Cancel::NEVER)?;
        let position = order(
            &graph,
            &[plan.outputs[0].stage as u32],
            RootOrder::Blocks,
            Cancel::NEVER,
        )?;
        let t3 = Instant::now();
        tasks = graph.len();
        assert_eq!(position.len(), tasks);
        build.push((t1 - t0).as_secs_f64());
        lower.push((t2 - t1).as_secs_f64());
        graph_t.push((t3 - t2).as_secs_f64());
        total.push((t3 - t0).as_secs_f64());
    }
    let blocks = n.div_ceil(chunk).pow(2);
    println!(
        "planning (x + x.T)[::2, n/2:].mean(axis 1), n={n}, chunks={chunk}: {blocks} source blocks, {tasks} tasks after culling and fusion"
    );
    println!(
        "median of 5: build {:.4} s, lower {:.4} s, task graph + order {:.4} s, total {:.4} s",
        median(build),
        median(lower),
        median(graph_t),
        median(total)
    );
    if let Some(mb) = peak_rss_mb() {
        println!("peak RSS: {mb:.1} MB");
    }
    Ok(())
}
