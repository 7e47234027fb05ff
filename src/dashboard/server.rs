//! The live dashboard's HTTP server: the page, its state, and a server-sent event stream.
//!
//! It serves three fixed routes and nothing else (no file access): `/` the page
//! (`page.html`, bundled), `/state` the whole timeline as JSON, and `/events` a
//! `text/event-stream` of what changed, one message every [`TICK`], the last one with
//! `"finished": true`. On a loopback address it answers only requests whose `Host` is that
//! address (a web page elsewhere cannot reach it through DNS rebinding); another address
//! needs `allow_remote`.

use crate::config::CancelToken;
use std::io::Write;
use std::net::{SocketAddr, TcpListener, ToSocketAddrs};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tiny_http::{Header, Method, Request, Response};

use super::record::{Cursor, Recorder};
use crate::error::{Error, Result};

/// Interval between two messages of the event stream.
pub(crate) const TICK: Duration = Duration::from_millis(250);

/// How long the end of a session waits for open event streams to deliver their last
/// message.
const DRAIN: Duration = Duration::from_secs(2);

/// The page, with its data marker left empty (live mode).
pub(crate) const PAGE: &str = include_str!("page.html");

/// A running dashboard server.
pub(crate) struct Server {
    http: Arc<tiny_http::Server>,
    accept: Option<JoinHandle<()>>,
    url: String,
    streams: Arc<Streams>,
}

/// Open event streams, and those that still owe their last message.
#[derive(Default)]
struct Streams {
    owing: Mutex<usize>,
    changed: Condvar,
}

impl Server {
    /// Binds `addr` (`HOST:PORT`; port 0 picks a free one) and starts serving `rec`.
    ///
    /// # Errors
    /// An address that does not resolve, a non-loopback address without `allow_remote`, or
    /// one that cannot be bound (in use).
    pub(crate) fn start(addr: &str, allow_remote: bool, rec: Arc<Recorder>) -> Result<Server> {
        let bad = |why: String| Error::invalid(format!("dashboard address {addr:?}: {why}"));
        let first = check_address(addr, allow_remote)?;
        let listener = TcpListener::bind(first).map_err(|e| bad(format!("cannot bind: {e}")))?;
        let bound = listener
            .local_addr()
            .map_err(|e| bad(format!("cannot read the bound address: {e}")))?;
        let http = tiny_http::Server::from_listener(listener, None)
            .map_err(|e| bad(format!("cannot serve: {e}")))?;
        let http = Arc::new(http);
        let loopback = bound.ip().is_loopback();
        let streams = Arc::new(Streams::default());
        let accept = {
            let http = Arc::clone(&http);
            let streams = Arc::clone(&streams);
            std::thread::Builder::new()
                .name("brickwork-dashboard".into())
                .spawn(move || {
                    for request in http.incoming_requests() {
                        let rec = Arc::clone(&rec);
                        let streams = Arc::clone(&streams);
                        // One thread per request: an event stream lasts the whole session.
                        let _ = std::thread::Builder::new()
                            .name("brickwork-dashboard-request".into())
                            .spawn(move || serve(request, &rec, &streams, loopback, bound));
                    }
                })
                .map_err(|e| Error::internal_from("cannot start the dashboard", e))?
        };
        let host = match bound {
            SocketAddr::V6(a) => format!("[{}]", a.ip()),
            SocketAddr::V4(a) => a.ip().to_string(),
        };
        Ok(Server {
            http,
            accept: Some(accept),
            url: format!("http://{host}:{}/", bound.port()),
            streams,
        })
    }

    /// The page's address.
    pub(crate) fn url(&self) -> &str {
        &self.url
    }

    /// After the session finished: lets open pages receive the last update, keeps serving
    /// for `linger` (less once `cancel` is set), then stops.
    pub(crate) fn stop(mut self, linger: Duration, cancel: Option<&CancelToken>) {
        let deadline = Instant::now() + DRAIN;
        let mut owing = self.streams.owing.lock().unwrap_or_else(|p| p.into_inner());
        while *owing > 0 {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            owing = self
                .streams
                .changed
                .wait_timeout(owing, left)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
        drop(owing);
        let until = Instant::now() + linger;
        while !cancel.is_some_and(CancelToken::is_cancelled) {
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            std::thread::sleep(left.min(Duration::from_millis(50)));
        }
        self.shutdown();
    }

    fn shutdown(&mut self) {
        self.http.unblock();
        if let Some(accept) = self.accept.take() {
            let _ = accept.join();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// The address `addr` (`HOST:PORT`) resolves to, if the dashboard may bind it.
///
/// # Errors
/// [`Error::InvalidArgument`] for an address that does not resolve, or a non-loopback one
/// without `allow_remote`.
pub fn check_address(addr: &str, allow_remote: bool) -> Result<SocketAddr> {
    let bad = |why: String| Error::invalid(format!("dashboard address {addr:?}: {why}"));
    let addrs: Vec<SocketAddr> = addr
        .to_socket_addrs()
        .map_err(|e| bad(format!("{e} (expected HOST:PORT, e.g. 127.0.0.1:8787)")))?
        .collect();
    let first = *addrs
        .first()
        .ok_or_else(|| bad("resolves to no address".into()))?;
    if !allow_remote && !first.ip().is_loopback() {
        return Err(bad(format!(
            "{} is not a loopback address: the dashboard would be reachable from other \
             machines; allow that explicitly (--dashboard-allow-remote, \
             MonitorSettings::allow_remote) or bind 127.0.0.1",
            first.ip()
        )));
    }
    Ok(first)
}

fn header(name: &str, value: &str) -> Header {
    Header::from_bytes(name.as_bytes(), value.as_bytes()).expect("a valid header")
}

/// Headers every answer carries.
fn common() -> Vec<Header> {
    vec![
        header("Cache-Control", "no-store"),
        header("X-Content-Type-Options", "nosniff"),
    ]
}

fn text(status: u16, body: &str) -> Response<std::io::Cursor<Vec<u8>>> {
    let mut r = Response::from_string(body).with_status_code(status);
    for h in common() {
        r.add_header(h);
    }
    r.with_header(header("Content-Type", "text/plain; charset=utf-8"))
}

/// True when the request's `Host` names the loopback address the server is bound to.
fn host_allowed(request: &Request, bound: SocketAddr) -> bool {
    let Some(host) = request
        .headers()
        .iter()
        .find(|h| h.field.equiv("Host"))
        .map(|h| h.value.as_str().to_ascii_lowercase())
    else {
        return false;
    };
    let port = bound.port();
    [
        format!("127.0.0.1:{port}"),
        format!("localhost:{port}"),
        format!("[::1]:{port}"),
        format!("{}:{port}", bound.ip()),
    ]
    .contains(&host)
}

fn serve(request: Request, rec: &Recorder, streams: &Streams, loopback: bool, bound: SocketAddr) {
    if loopback && !host_allowed(&request, bound) {
        let _ = request.respond(text(
            403,
            "this dashboard answers only on its own address\n",
        ));
        return;
    }
    if *request.method() != Method::Get && *request.method() != Method::Head {
        let _ = request.respond(text(405, "only GET\n"));
        return;
    }
    let url = request.url().to_string();
    let (path, query) = url.split_once('?').unwrap_or((&url, ""));
    match path {
        "/" | "/index.html" => {
            let mut r = Response::from_string(PAGE);
            for h in common() {
                r.add_header(h);
            }
            let _ =
                request.respond(r.with_header(header("Content-Type", "text/html; charset=utf-8")));
        }
        "/state" => {
            let body = rec.state(&mut Cursor::default()).to_string();
            let mut r = Response::from_string(body);
            for h in common() {
                r.add_header(h);
            }
            let _ = request.respond(r.with_header(header("Content-Type", "application/json")));
        }
        "/events" => stream(request, rec, streams, Cursor::from_query(query)),
        _ => {
            let _ = request.respond(text(
                404,
                "not found: the dashboard serves /, /state and /events\n",
            ));
        }
    }
}

/// Streams deltas from `cursor` until the session finishes or the client goes away.
fn stream(request: Request, rec: &Recorder, streams: &Streams, mut cursor: Cursor) {
    *streams.owing.lock().unwrap_or_else(|p| p.into_inner()) += 1;
    let done = || {
        *streams.owing.lock().unwrap_or_else(|p| p.into_inner()) -= 1;
        streams.changed.notify_all();
    };
    // The stream's bytes must leave at once, so it writes the answer itself instead of
    // through a response body (which tiny_http buffers into 8 KiB chunks).
    let mut w = request.into_writer();
    let head = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-store\r\n\
                X-Content-Type-Options: nosniff\r\nConnection: close\r\n\r\n";
    if w.write_all(head.as_bytes())
        .and_then(|()| w.flush())
        .is_err()
    {
        done();
        return;
    }
    loop {
        let (delta, finished) = rec.delta(&mut cursor);
        let message = format!("data: {delta}\n\n");
        if w.write_all(message.as_bytes())
            .and_then(|()| w.flush())
            .is_err()
            || finished
        {
            break;
        }
        rec.wait_finished(TICK);
    }
    done();
}
