//! Pictures of a scheduled plan in Graphviz DOT: the task graph, or for large graphs the
//! stage graph (what `visualize` writes and the dashboard's plan panel draws).

use std::fmt::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};

use super::TaskGraph;
use crate::error::{Error, Result};
use crate::grid::fmt_shape;
use crate::plan::Plan;

/// Above this many tasks, draw stages instead of tasks.
const MAX_TASKS_DRAWN: usize = 500;

fn escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

/// DOT text of the task graph (one node per task, labelled with stage and block).
fn task_dot(plan: &Plan, graph: &TaskGraph) -> String {
    let mut s =
        String::from("digraph brickwork {\n  rankdir=BT;\n  node [shape=box, fontsize=10];\n");
    for t in 0..graph.len() as u32 {
        let st = &plan.stages[graph.stage[t as usize] as usize];
        let block = graph.block_index(plan, t);
        let _ = writeln!(
            s,
            "  t{t} [label=\"{}\\n{:?}\"{}];",
            escape(&st.name),
            block,
            if plan.is_output(graph.stage[t as usize] as usize) {
                ", style=bold"
            } else {
                ""
            }
        );
        for &d in graph.deps(t) {
            let _ = writeln!(s, "  t{d} -> t{t};");
        }
    }
    s.push_str("}\n");
    s
}

/// DOT text of the stage graph (one node per stage with block and task counts).
pub(crate) fn stage_dot(plan: &Plan, graph: &TaskGraph) -> String {
    let mut s =
        String::from("digraph brickwork {\n  rankdir=BT;\n  node [shape=box, fontsize=10];\n");
    for (i, st) in plan.stages.iter().enumerate() {
        let _ = writeln!(
            s,
            "  s{i} [label=\"{}\\nshape {} in {} blocks\\n{} tasks after culling\"];",
            escape(&st.name),
            fmt_shape(&st.grid.shape()),
            st.grid.nblocks(),
            graph.stage_tasks[i]
        );
        for u in st.inputs() {
            let _ = writeln!(s, "  s{u} -> s{i};");
        }
    }
    s.push_str("}\n");
    s
}

/// Writes DOT, or SVG through Graphviz's `dot` when `path` ends in `.svg`.
pub(crate) fn write(plan: &Plan, graph: &TaskGraph, path: &Path) -> Result<()> {
    let dot = if graph.len() <= MAX_TASKS_DRAWN {
        task_dot(plan, graph)
    } else {
        stage_dot(plan, graph)
    };
    let io = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    if path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("svg"))
    {
        let out = Command::new("dot")
            .arg("-Tsvg")
            .arg("-o")
            .arg(path)
            .stdin(Stdio::piped())
            .spawn()
            .and_then(|mut child| {
                use std::io::Write;
                child.stdin.take().expect("piped").write_all(dot.as_bytes())?;
                child.wait()
            })
            .map_err(|e| {
                Error::invalid(format!(
                    "cannot render {}: Graphviz `dot` is not available ({e}); write a .dot file instead",
                    path.display()
                ))
            })?;
        if !out.success() {
            return Err(Error::invalid(format!(
                "Graphviz `dot` failed to render {}",
                path.display()
            )));
        }
        return Ok(());
    }
    std::fs::write(path, dot).map_err(io)
}
