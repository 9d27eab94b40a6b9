//! The out-of-process plugin of the `plugins` benchmark (`src/rpc.rs`).
//!
//! A package of its own so it links only what it uses (0.5 MB): built
//! inside plugins-bench it would link all of Bevy (67 MB, about 4 ms more
//! to start), which a real plugin would not pay.
//!
//! `GUEST SOCKET` connects to the host's Unix socket at `SOCKET`, says
//! hello, then answers requests one at a time with the shared workload code
//! until the host sends `Shutdown` or closes the connection. The messages are
//! in `src/rpc/protocol.rs`.

use plugin_workload::{Boids, Pong};
use serde::{Deserialize, Serialize};
use std::os::unix::net::UnixStream;
use std::process::ExitCode;

// The host's half of the protocol (`ResponseSeed`) is not used here.
#[allow(dead_code)]
#[path = "../../../src/rpc/protocol.rs"]
mod protocol;

use protocol::{Buffers, Channel, Req, RequestSeed, Response};

/// The plugin's state as it crosses a reload (opaque to the host).
#[derive(Serialize, Deserialize)]
struct Saved {
    frames: u64,
}

fn main() -> ExitCode {
    let Some(socket) = std::env::args_os().nth(1) else {
        eprintln!("usage: bench-rpc SOCKET");
        return ExitCode::FAILURE;
    };
    match serve(&socket) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("rpc guest ({}): {e}", socket.to_string_lossy());
            ExitCode::FAILURE
        }
    }
}

fn serve(socket: &std::ffi::OsStr) -> std::io::Result<()> {
    let mut ch = Channel::new(UnixStream::connect(socket)?);
    ch.send(&Response::Hello { version: protocol::VERSION })?;
    let mut bufs = Buffers::default();
    let mut pongs: Vec<Pong> = Vec::new();
    let mut saved = Vec::new();
    let mut boids = Boids::default();
    let mut frames = 0u64;
    while let Some(req) = ch.recv(RequestSeed(&mut bufs))? {
        let Buffers { pos, vel, pings, bytes } = &mut bufs;
        match req {
            Req::Noop => ch.send(&Response::Done)?,
            Req::Integrate { .. } | Req::Boids { .. } if pos.len() != vel.len() => {
                ch.send(&Response::Error(&format!("{} positions, {} velocities", pos.len(), vel.len())))?
            }
            Req::Integrate { dt } => {
                frames += 1;
                plugin_workload::integrate(pos, vel, dt);
                ch.send(&Response::Positions(pos))?
            }
            Req::Boids { dt } => {
                boids.step(pos, vel, dt);
                ch.send(&Response::Bodies { pos, vel })?
            }
            Req::Events => {
                pongs.clear();
                pongs.extend(pings.iter().map(plugin_workload::answer));
                ch.send(&Response::Pongs(&pongs))?
            }
            Req::Frames => ch.send(&Response::Frames(frames))?,
            Req::SaveState => {
                saved.clear();
                saved = postcard::to_extend(&Saved { frames }, saved).map_err(std::io::Error::other)?;
                ch.send(&Response::State(&saved))?
            }
            Req::RestoreState => match postcard::from_bytes::<Saved>(bytes) {
                Ok(s) => {
                    frames = s.frames;
                    ch.send(&Response::Done)?
                }
                Err(e) => ch.send(&Response::Error(&format!("bad saved state: {e}")))?,
            },
            Req::Shutdown => {
                ch.send(&Response::Done)?;
                break;
            }
        }
    }
    Ok(())
}
