//! An out-of-process plugin over a Unix socket with serde messages: the
//! analogue of HashiCorp's go-plugin (a plugin is a child process that the
//! host talks to through RPC on a local socket).
//!
//! The plugin is the guest binary `guests/rpc` (package `bench-rpc`, see
//! [`plugin_file`]), which runs the shared workload code. The host listens on a fresh Unix socket in the
//! temporary directory, starts the guest with the socket's path as its
//! argument, accepts its connection (and removes the socket file at once),
//! and waits for its hello, which carries the protocol version. A socket
//! rather than the child's stdin/stdout: it is what go-plugin does, it is one
//! full-duplex file descriptor, and it leaves the guest's stdout and stderr
//! free for its logs (stderr is inherited).
//!
//! How data crosses the boundary: every call is one request and one response,
//! each a serde enum encoded with postcard in a frame of a `u32`
//! little-endian length and the payload (`protocol`). The host encodes
//! straight from its [`Columns`] and message slices into one reused buffer;
//! the guest decodes into its reused buffers, works on them in place, and
//! encodes its answer from them; the host decodes the answer straight into
//! its columns or into the caller's `Vec<Pong>` (a [`serde::de::DeserializeSeed`]
//! that appends to vectors it is given). So the costs are postcard's
//! encoding and decoding on both sides, two copies through the kernel, and a
//! round trip between two processes (two wake-ups) per call; there is no
//! other allocation or copy per call.
//!
//! Reload starts a new guest from the file, moves the state across (the
//! guest's state is opaque bytes to the host: `SaveState` from the old
//! guest, `RestoreState` into the new one), then shuts the old guest down and
//! waits for it. Dropping a guest does the same: `Shutdown`, then wait for
//! the process (killed if it does not answer), so no zombie is left.

pub mod protocol;

use crate::workload::{Ping, Pong};
use crate::{Columns, Guest};
use protocol::{Channel, Reply, Request, ResponseSeed};
use std::io;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long a starting guest may take to connect and say hello, and a
/// stopping one to answer `Shutdown`.
const TIMEOUT: Duration = Duration::from_secs(10);

/// The guest executable, built in release mode: the `bench-rpc` package
/// (`guests/rpc/`), which links only the workload, serde and postcard.
pub fn plugin_file() -> PathBuf {
    crate::cargo_build("bench-rpc", crate::Build::Native);
    crate::target_dir().join("release/bench-rpc")
}

/// A running guest process and its connection.
pub struct RpcGuest {
    ch: Channel,
    child: Child,
    /// The executable, for messages.
    file: PathBuf,
    /// Reused for `SaveState`.
    state: Vec<u8>,
}

/// A socket path no guest used before.
fn socket_path() -> PathBuf {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    std::env::temp_dir().join(format!("plugins-bench-rpc-{}-{n}.sock", std::process::id()))
}

/// Removes the socket file when dropped, however `load` ends.
struct RemoveFile(PathBuf);

impl Drop for RemoveFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Waits for `child` to connect to `listener`, or to exit, or [`TIMEOUT`].
fn accept(listener: &UnixListener, child: &mut Child, file: &Path) -> Result<UnixStream, String> {
    let name = file.display();
    listener.set_nonblocking(true).map_err(|e| format!("{name}: cannot poll the socket: {e}"))?;
    let start = Instant::now();
    loop {
        match listener.accept() {
            Ok((stream, _)) => return Ok(stream),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(format!("{name}: accepting the guest's connection: {e}")),
        }
        if let Some(status) = child.try_wait().map_err(|e| format!("{name}: {e}"))? {
            return Err(format!("{name} exited ({status}) before connecting"));
        }
        if start.elapsed() > TIMEOUT {
            return Err(format!("{name} did not connect within {TIMEOUT:?}"));
        }
        std::thread::sleep(Duration::from_micros(20));
    }
}

/// Starts the guest `file`, telling it to connect to `socket`.
fn spawn(file: &Path, socket: &Path) -> io::Result<Child> {
    let mut tries = 0;
    loop {
        match Command::new(file).arg(socket).stdin(Stdio::null()).stdout(Stdio::null()).spawn() {
            // A file just copied (`fresh_copy`) can be "busy" for a moment
            // when another thread forked while the copy was open for writing.
            Err(e) if e.kind() == io::ErrorKind::ExecutableFileBusy && tries < 100 => {
                tries += 1;
                std::thread::sleep(Duration::from_millis(1));
            }
            result => return result,
        }
    }
}

impl RpcGuest {
    /// [`Guest::load`] through the socket file `socket`, which is
    /// removed however it ends.
    fn load_at(file: &Path, socket: PathBuf) -> Result<RpcGuest, String> {
        let name = file.display();
        let socket = RemoveFile(socket);
        let _ = std::fs::remove_file(&socket.0);
        let listener = UnixListener::bind(&socket.0)
            .map_err(|e| format!("{name}: cannot listen on {}: {e}", socket.0.display()))?;
        let mut child = spawn(file, &socket.0).map_err(|e| format!("cannot start {name}: {e}"))?;
        let stream = match accept(&listener, &mut child, file) {
            Ok(stream) => stream,
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(e);
            }
        };
        drop(socket);
        // From here on, `Drop` shuts the guest down.
        let mut rpc = RpcGuest { ch: Channel::new(stream), child, file: file.to_path_buf(), state: Vec::new() };
        let stream = rpc.ch.stream();
        stream
            .set_nonblocking(false)
            .and_then(|()| stream.set_read_timeout(Some(TIMEOUT)))
            .map_err(|e| format!("{name}: {e}"))?;
        match rpc.ch.recv(ResponseSeed::default()) {
            Ok(Some(Reply::Hello { version: protocol::VERSION })) => {}
            Ok(Some(Reply::Hello { version })) => {
                return Err(format!("{name} speaks protocol {version}, this host {}", protocol::VERSION));
            }
            Ok(Some(reply)) => return Err(format!("{name} said {reply:?} instead of hello")),
            Ok(None) => return Err(format!("{name} closed the connection before saying hello")),
            Err(e) => return Err(format!("{name}: waiting for hello: {e}")),
        }
        rpc.ch.stream().set_read_timeout(None).map_err(|e| format!("{name}: {e}"))?;
        Ok(rpc)
    }

    /// Sends `req` and decodes the answer with `seed`.
    fn call(&mut self, req: &Request, seed: ResponseSeed) -> Result<Reply, String> {
        let name = self.file.display();
        self.ch.send(req).map_err(|e| format!("{name}: sending {}: {e}", req_name(req)))?;
        match self.ch.recv(seed) {
            Ok(Some(Reply::Error(e))) => Err(format!("{name}: {} failed: {e}", req_name(req))),
            Ok(Some(reply)) => Ok(reply),
            Ok(None) => Err(format!("{name} closed the connection instead of answering {}", req_name(req))),
            Err(e) => Err(format!("{name}: receiving the answer to {}: {e}", req_name(req))),
        }
    }

    /// [`RpcGuest::call`], for the calls of the benchmark, which cannot fail
    /// but for a broken guest.
    fn must(&mut self, req: &Request, seed: ResponseSeed, want: Reply) -> Reply {
        match self.call(req, seed) {
            Ok(reply) if std::mem::discriminant(&reply) == std::mem::discriminant(&want) => reply,
            Ok(reply) => panic!("{}: {reply:?} in answer to {}", self.file.display(), req_name(req)),
            Err(e) => panic!("{e}"),
        }
    }

    /// The guest's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends `Shutdown` and waits for the process; kills it if it does not
    /// answer.
    fn shutdown(&mut self) {
        let _ = self.ch.stream().set_read_timeout(Some(TIMEOUT));
        let done = matches!(self.call(&Request::Shutdown, ResponseSeed::default()), Ok(Reply::Done));
        let _ = self.ch.stream().shutdown(std::net::Shutdown::Both);
        if !done {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

/// The variant's name, for messages.
fn req_name(req: &Request) -> &'static str {
    match req {
        Request::Noop => "Noop",
        Request::Integrate { .. } => "Integrate",
        Request::Boids { .. } => "Boids",
        Request::Events(_) => "Events",
        Request::Frames => "Frames",
        Request::SaveState => "SaveState",
        Request::RestoreState(_) => "RestoreState",
        Request::Shutdown => "Shutdown",
    }
}

impl Guest for RpcGuest {
    fn load(file: &Path) -> Result<RpcGuest, String> {
        RpcGuest::load_at(file, socket_path())
    }

    fn call_empty(&mut self) {
        self.must(&Request::Noop, ResponseSeed::default(), Reply::Done);
    }

    fn integrate(&mut self, cols: &mut Columns, dt: f32) {
        let n = cols.pos.len();
        self.ch.send(&Request::Integrate { pos: &cols.pos, vel: &cols.vel, dt }).unwrap_or_else(|e| {
            panic!("{}: sending Integrate: {e}", self.file.display());
        });
        cols.pos.clear();
        let reply = self.ch.recv(ResponseSeed { pos: Some(&mut cols.pos), ..ResponseSeed::default() });
        match reply {
            Ok(Some(Reply::Positions)) if cols.pos.len() == n => {}
            other => panic!(
                "{}: {other:?} ({} positions) in answer to Integrate of {n}",
                self.file.display(),
                cols.pos.len()
            ),
        }
    }

    fn boids(&mut self, cols: &mut Columns, dt: f32) {
        let n = cols.pos.len();
        self.ch.send(&Request::Boids { pos: &cols.pos, vel: &cols.vel, dt }).unwrap_or_else(|e| {
            panic!("{}: sending Boids: {e}", self.file.display());
        });
        cols.pos.clear();
        cols.vel.clear();
        let reply = self.ch.recv(ResponseSeed {
            pos: Some(&mut cols.pos),
            vel: Some(&mut cols.vel),
            ..ResponseSeed::default()
        });
        match reply {
            Ok(Some(Reply::Bodies)) if cols.pos.len() == n && cols.vel.len() == n => {}
            other => panic!("{}: {other:?} ({} bodies) in answer to Boids of {n}", self.file.display(), cols.pos.len()),
        }
    }

    fn events(&mut self, pings: &[Ping], out: &mut Vec<Pong>) {
        let len = out.len();
        self.must(&Request::Events(pings), ResponseSeed { pongs: Some(out), ..ResponseSeed::default() }, Reply::Pongs);
        assert_eq!(out.len() - len, pings.len(), "{}: wrong number of answers", self.file.display());
    }

    fn frames(&mut self) -> u64 {
        match self.must(&Request::Frames, ResponseSeed::default(), Reply::Frames(0)) {
            Reply::Frames(n) => n,
            _ => unreachable!(),
        }
    }

    fn reload(&mut self, file: &Path) -> Result<(), String> {
        let mut new = RpcGuest::load(file)?;
        let mut state = std::mem::take(&mut self.state);
        state.clear();
        match self.call(&Request::SaveState, ResponseSeed { bytes: Some(&mut state), ..ResponseSeed::default() })? {
            Reply::State => {}
            reply => return Err(format!("{}: {reply:?} in answer to SaveState", self.file.display())),
        }
        match new.call(&Request::RestoreState(&state), ResponseSeed::default())? {
            Reply::Done => {}
            reply => return Err(format!("{}: {reply:?} in answer to RestoreState", file.display())),
        }
        new.state = state;
        // Shuts the old guest down and waits for it (`Drop`).
        drop(std::mem::replace(self, new));
        Ok(())
    }
}

impl Drop for RpcGuest {
    fn drop(&mut self) {
        self.shutdown();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{check_columns, fresh_copy, reference_integrate, workload};

    const TOLERANCE: f32 = 1e-4;

    fn loaded() -> RpcGuest {
        RpcGuest::load(&fresh_copy(&plugin_file())).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Whether `pid` is a child of this process (running or a zombie).
    fn is_our_child(pid: u32) -> bool {
        let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) else { return false };
        status.lines().any(|l| l.strip_prefix("PPid:").is_some_and(|p| p.trim() == std::process::id().to_string()))
    }

    fn decode(seed: ResponseSeed, bytes: &[u8]) -> Result<Reply, postcard::Error> {
        let mut de = postcard::Deserializer::from_bytes(bytes);
        let reply = serde::de::DeserializeSeed::deserialize(seed, &mut de)?;
        assert!(de.finalize()?.is_empty());
        Ok(reply)
    }

    #[test]
    fn messages_round_trip() {
        let (pos, vel) = workload::bodies(5);
        let pings = workload::pings(3);
        let mut ch_bytes = Vec::new();
        for req in [
            Request::Noop,
            Request::Integrate { pos: &pos, vel: &vel, dt: 0.5 },
            Request::Boids { pos: &pos, vel: &vel, dt: 0.25 },
            Request::Events(&pings),
            Request::Frames,
            Request::SaveState,
            Request::RestoreState(&[1, 2, 3]),
            Request::Shutdown,
        ] {
            ch_bytes.clear();
            ch_bytes = postcard::to_extend(&req, ch_bytes).unwrap();
            let mut bufs = protocol::Buffers::default();
            bufs.pos.push([9.0, 9.0]);
            let mut de = postcard::Deserializer::from_bytes(&ch_bytes);
            let got = serde::de::DeserializeSeed::deserialize(protocol::RequestSeed(&mut bufs), &mut de).unwrap();
            assert!(de.finalize().unwrap().is_empty());
            use protocol::Req;
            match (&req, got) {
                (Request::Noop, Req::Noop)
                | (Request::Frames, Req::Frames)
                | (Request::SaveState, Req::SaveState)
                | (Request::Shutdown, Req::Shutdown) => {}
                (Request::Integrate { dt, .. }, Req::Integrate { dt: d })
                | (Request::Boids { dt, .. }, Req::Boids { dt: d }) => {
                    assert_eq!((*dt, &bufs.pos, &bufs.vel), (d, &pos, &vel));
                }
                (Request::Events(p), Req::Events) => assert_eq!(&bufs.pings, p),
                (Request::RestoreState(b), Req::RestoreState) => assert_eq!(&bufs.bytes, b),
                (req, got) => panic!("{req:?} decoded as {got:?}"),
            }
        }
        let pongs: Vec<Pong> = pings.iter().map(workload::answer).collect();
        for (resp, want) in [
            (protocol::Response::Hello { version: 7 }, Reply::Hello { version: 7 }),
            (protocol::Response::Done, Reply::Done),
            (protocol::Response::Positions(&pos), Reply::Positions),
            (protocol::Response::Bodies { pos: &pos, vel: &vel }, Reply::Bodies),
            (protocol::Response::Pongs(&pongs), Reply::Pongs),
            (protocol::Response::Frames(1 << 40), Reply::Frames(1 << 40)),
            (protocol::Response::State(&[4, 5]), Reply::State),
            (protocol::Response::Error("no"), Reply::Error("no".into())),
        ] {
            ch_bytes.clear();
            ch_bytes = postcard::to_extend(&resp, ch_bytes).unwrap();
            let (mut p, mut v, mut o, mut b) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
            let seed = ResponseSeed { pos: Some(&mut p), vel: Some(&mut v), pongs: Some(&mut o), bytes: Some(&mut b) };
            let got = decode(seed, &ch_bytes);
            assert_eq!(got.as_ref(), Ok(&want), "{resp:?}");
            match want {
                Reply::Positions => assert_eq!(p, pos),
                Reply::Bodies => assert_eq!((&p, &v), (&pos, &vel)),
                Reply::Pongs => assert_eq!(o, pongs),
                Reply::State => assert_eq!(b, [4, 5]),
                _ => {}
            }
        }
        // A sequence the host did not ask for is an error.
        let bytes = postcard::to_stdvec(&protocol::Response::Positions(&pos)).unwrap();
        assert!(decode(ResponseSeed::default(), &bytes).is_err());
    }

    #[test]
    fn workloads_match_the_reference() {
        let mut guest = loaded();
        guest.call_empty();
        crate::conformance::computes_what_the_workload_code_computes(&mut guest, "rpc", TOLERANCE);
        // A malformed request gets an error answer, and the guest lives on.
        let err = guest.call(&Request::Boids { pos: &[[0.0; 2]], vel: &[], dt: 1.0 }, ResponseSeed::default());
        assert!(err.unwrap_err().contains("1 positions, 0 velocities"));
        assert_eq!(guest.frames(), 11);
    }

    #[test]
    fn reload_keeps_the_state() {
        let mut guest = loaded();
        let mut cols = Columns::start(100);
        for _ in 0..3 {
            guest.integrate(&mut cols, workload::DT);
        }
        let old = guest.pid();
        guest.reload(&fresh_copy(&plugin_file())).unwrap();
        assert_ne!(guest.pid(), old);
        assert!(!is_our_child(old), "the old guest is still there");
        assert_eq!(guest.frames(), 3);
        guest.integrate(&mut cols, workload::DT);
        assert_eq!(guest.frames(), 4, "the new guest counts on");
        check_columns("integrate after reload", &cols, &reference_integrate(100, 4), TOLERANCE).unwrap();
        let missing = std::env::temp_dir().join("plugins-bench-no-such-guest");
        let err = guest.reload(&missing).unwrap_err();
        assert!(err.contains("plugins-bench-no-such-guest"), "{err}");
        assert_eq!(guest.frames(), 4, "a failed reload keeps the old guest");
    }

    #[test]
    fn dropping_leaves_no_process_and_no_socket() {
        // This test's own socket files: other tests load guests meanwhile.
        let socket =
            |n: u32| std::env::temp_dir().join(format!("plugins-bench-rpc-{}-drop-{n}.sock", std::process::id()));
        let guest = RpcGuest::load_at(&fresh_copy(&plugin_file()), socket(0)).unwrap_or_else(|e| panic!("{e}"));
        let pid = guest.pid();
        assert!(is_our_child(pid));
        drop(guest);
        assert!(!is_our_child(pid), "guest {pid} is still a child of ours after drop");
        // A program that is not a guest: it exits without connecting.
        let err = RpcGuest::load_at(Path::new("/bin/true"), socket(1)).err().unwrap();
        assert!(err.contains("/bin/true exited"), "{err}");
        let err = RpcGuest::load_at(Path::new("/no/such/guest"), socket(2)).err().unwrap();
        assert!(err.contains("cannot start /no/such/guest"), "{err}");
        for n in 0..3 {
            assert!(!socket(n).exists(), "{} was left behind", socket(n).display());
        }
    }
}
