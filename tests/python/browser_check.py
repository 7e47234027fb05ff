#!/usr/bin/env python3
"""Drive brickwork's dashboard page (src/dashboard/page.html) in headless Chromium.

Usage:
  browser_check.py live URL --screenshot OUT.png
      Load URL (a running `brickwork` dashboard server), wait until #status has
      data-updates >= 1 (i.e. at least one server-sent event was applied; 20 s timeout),
      read the panel values (snapshot A), wait ~1.2 s, read them again (snapshot B),
      take a full-page screenshot and print one line of JSON: {"first": A, "second": B}.
  browser_check.py report FILE --screenshot OUT.png
      Load file://FILE (a static HTML report), read the values (plus stats, plan_stages,
      plan_svg_nodes), take a full-page screenshot and print the values as one line of JSON.

Exit status: 0 on success; 1 on timeout, on an uncaught JavaScript error in the page, or
when the browser cannot be started (the reason goes to stderr).

Environment:
  BRICKWORK_CHROMIUM   Chromium binary (default /usr/bin/chromium; scripts/browser.sh
                       installs Debian's). Playwright's own browser downloads are never used.

Needs the `playwright` Python package (scripts/browser.sh installs it into the peer venv).
"""
import argparse
import json
import os
import sys
import time
from pathlib import Path

READ_VALUES_JS = r"""
(report) => {
  const q = s => document.querySelector(s);
  const int = (el, attr) => {
    const v = el ? el.getAttribute(attr) : null;
    const n = v === null ? NaN : Number(v);
    return Number.isFinite(n) ? Math.round(n) : 0;
  };
  const status = q('#status');
  const out = {
    status: status ? status.textContent.trim() : null,
    updates: int(status, 'data-updates'),
    bars: int(q('#task-stream'), 'data-bars'),
    memory_samples: int(q('#memory'), 'data-samples'),
    memory_current: int(q('#memory'), 'data-current'),
    memory_peak: int(q('#memory'), 'data-peak'),
    io_read: int(q('#io'), 'data-read'),
    io_written: int(q('#io'), 'data-written'),
    stages: [...document.querySelectorAll('#progress tr[data-stage]')].map(tr => ({
      id: Number(tr.dataset.stage), done: Number(tr.dataset.done), total: Number(tr.dataset.total),
    })),
    marks: int(q('#marks'), 'data-count'),
  };
  if (report) {
    const stats = {};
    for (const tr of document.querySelectorAll('#stats [data-key]')) {
      stats[tr.dataset.key] = Number(tr.dataset.value);
    }
    out.stats = stats;
    out.plan_stages = [...document.querySelectorAll('#plan tr[data-plan-stage]')].map(tr => ({
      id: Number(tr.dataset.planStage), name: tr.dataset.name,
      before: Number(tr.dataset.before), after: Number(tr.dataset.after),
    }));
    out.plan_svg_nodes = document.querySelectorAll('#plan svg .stage-node').length;
  }
  return out;
}
"""

UPDATED_JS = "() => { const s = document.querySelector('#status');" \
             " return !!s && Number(s.getAttribute('data-updates')) >= 1; }"


def fail(msg):
    print(f"browser_check.py: error: {msg}", file=sys.stderr)
    sys.exit(1)


def main():
    ap = argparse.ArgumentParser(description="Check brickwork's dashboard page in headless Chromium.")
    ap.add_argument("mode", choices=["live", "report"])
    ap.add_argument("target", help="URL (live) or HTML file (report)")
    ap.add_argument("--screenshot", required=True, help="where to write a full-page PNG")
    ap.add_argument("--timeout", type=float, default=20.0, help="seconds to wait for the first update (live)")
    ap.add_argument("--interval", type=float, default=1.2, help="seconds between the two live snapshots")
    ap.add_argument("--width", type=int, default=1280)
    args = ap.parse_args()

    try:
        from playwright.sync_api import sync_playwright, TimeoutError as PwTimeout, Error as PwError
    except ImportError as e:
        fail(f"python package 'playwright' is missing ({e}); run scripts/browser.sh")

    chromium = os.environ.get("BRICKWORK_CHROMIUM", "/usr/bin/chromium")
    if not os.access(chromium, os.X_OK):
        fail(f"Chromium not found at {chromium} (run scripts/browser.sh or set BRICKWORK_CHROMIUM)")

    if args.mode == "report":
        path = Path(args.target).resolve()
        if not path.is_file():
            fail(f"report file not found: {path}")
        url = path.as_uri()
    else:
        url = args.target

    page_errors = []
    console_errors = []
    with sync_playwright() as pw:
        try:
            browser = pw.chromium.launch(
                executable_path=chromium, headless=True,
                args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
            )
        except PwError as e:
            fail(f"cannot launch Chromium at {chromium}: {str(e).splitlines()[0]}")
        try:
            ctx = browser.new_context(viewport={"width": args.width, "height": 900}, device_scale_factor=1)
            page = ctx.new_page()
            page.on("pageerror", lambda err: page_errors.append(str(err)))
            page.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)
            try:
                page.goto(url, wait_until="load", timeout=int(args.timeout * 1000))
            except (PwTimeout, PwError) as e:
                fail(f"cannot load {url}: {str(e).splitlines()[0]}")

            def read():
                return page.evaluate(READ_VALUES_JS, args.mode == "report")

            try:
                page.wait_for_function(UPDATED_JS, timeout=int(args.timeout * 1000), polling=50)
            except PwTimeout:
                cur = read()
                fail(f"timed out after {args.timeout:g} s waiting for #status data-updates >= 1 at {url} "
                     f"(status={cur.get('status')!r}, updates={cur.get('updates')}); "
                     f"page errors: {page_errors or 'none'}; console errors: {console_errors[-5:] or 'none'}")

            if args.mode == "live":
                first = read()
                time.sleep(args.interval)
                second = read()
                result = {"first": first, "second": second}
            else:
                # let the first animation frame draw the charts before the screenshot
                page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
                result = read()

            page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
            Path(args.screenshot).parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=args.screenshot, full_page=True)
        finally:
            browser.close()

    if page_errors:
        fail(f"uncaught JavaScript error(s) in the page: {page_errors}")
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
