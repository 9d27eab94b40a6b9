//! The messages between the host ([`super`]) and the guest process,
//! and their framing. Shared as source: the guest (`guests/rpc/src/main.rs`)
//! includes this file with `#[path]`, so it builds on its own.
//!
//! Every message is a serde enum encoded with postcard, in a frame of a
//! `u32` little-endian length and the payload. The sending side serializes
//! borrowed slices ([`Request`], [`Response`]) straight into one reused
//! buffer; the receiving side decodes with a [`DeserializeSeed`]
//! ([`RequestSeed`], [`ResponseSeed`]) that appends the sequences to
//! vectors it is given (the host's own columns, the guest's reused buffers)
//! instead of allocating new ones. So the only copies are postcard's
//! encoding and decoding and the socket's.

use plugin_workload::{Ping, Pong, V2};
use serde::de::{self, DeserializeSeed, EnumAccess, SeqAccess, Unexpected, VariantAccess, Visitor};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;

/// The protocol version, sent by the guest first ([`Response::Hello`]).
pub const VERSION: u32 = 1;

/// The largest frame either side accepts.
pub const MAX_FRAME: usize = 1 << 30;

/// Host → guest.
#[derive(Serialize, Debug)]
pub enum Request<'a> {
    /// Answered with [`Response::Done`].
    Noop,
    /// `pos += vel × dt`, counting one frame; answered with the new
    /// positions ([`Response::Positions`]).
    Integrate { pos: &'a [V2], vel: &'a [V2], dt: f32 },
    /// One flocking step; answered with [`Response::Bodies`].
    Boids { pos: &'a [V2], vel: &'a [V2], dt: f32 },
    /// Answered with one [`Pong`] per [`Ping`] ([`Response::Pongs`]).
    Events(&'a [Ping]),
    /// Answered with [`Response::Frames`].
    Frames,
    /// Answered with the guest's state, opaque to the host ([`Response::State`]).
    SaveState,
    /// A state from [`Request::SaveState`]; answered with [`Response::Done`].
    RestoreState(&'a [u8]),
    /// Answered with [`Response::Done`], then the guest exits.
    Shutdown,
}

/// Guest → host.
#[derive(Serialize, Debug)]
pub enum Response<'a> {
    /// The guest's first message, once connected.
    Hello {
        version: u32,
    },
    Done,
    Positions(&'a [V2]),
    Bodies {
        pos: &'a [V2],
        vel: &'a [V2],
    },
    Pongs(&'a [Pong]),
    Frames(u64),
    State(&'a [u8]),
    /// The request could not be served.
    Error(&'a str),
}

/// A decoded [`Request`]; its sequences went to the [`Buffers`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Req {
    Noop,
    Integrate { dt: f32 },
    Boids { dt: f32 },
    Events,
    Frames,
    SaveState,
    RestoreState,
    Shutdown,
}

/// A decoded [`Response`]; its sequences went to the [`ResponseSeed`]'s vectors.
#[derive(Clone, Debug, PartialEq)]
pub enum Reply {
    Hello { version: u32 },
    Done,
    Positions,
    Bodies,
    Pongs,
    Frames(u64),
    State,
    Error(String),
}

/// The guest's reused buffers, which [`RequestSeed`] fills.
#[derive(Default)]
pub struct Buffers {
    pub pos: Vec<V2>,
    pub vel: Vec<V2>,
    pub pings: Vec<Ping>,
    pub bytes: Vec<u8>,
}

/// Decodes a [`Request`] into [`Buffers`] (cleared first).
pub struct RequestSeed<'b>(pub &'b mut Buffers);

/// Decodes a [`Response`], appending its sequences to the vectors given;
/// a sequence that has no vector here is an error.
#[derive(Default)]
pub struct ResponseSeed<'b> {
    pub pos: Option<&'b mut Vec<V2>>,
    pub vel: Option<&'b mut Vec<V2>>,
    pub pongs: Option<&'b mut Vec<Pong>>,
    pub bytes: Option<&'b mut Vec<u8>>,
}

/// Appends a sequence to a vector.
struct Append<'b, T>(&'b mut Vec<T>);

impl<'de, T: Deserialize<'de>> DeserializeSeed<'de> for Append<'_, T> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de, T: Deserialize<'de>> Visitor<'de> for Append<'_, T> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a sequence")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        // postcard's hint is never more than the bytes left.
        self.0.reserve(seq.size_hint().unwrap_or(0));
        while let Some(x) = seq.next_element()? {
            self.0.push(x);
        }
        Ok(())
    }
}

/// The next field of a struct variant, which must be there.
fn field<'de, A: SeqAccess<'de>, S: DeserializeSeed<'de>>(
    seq: &mut A,
    seed: S,
    i: usize,
) -> Result<S::Value, A::Error> {
    seq.next_element_seed(seed)?.ok_or_else(|| de::Error::invalid_length(i, &"more fields"))
}

/// The fields `pos, vel[, dt]` of `Integrate`, `Boids` and `Response::Bodies`.
struct PosVel<'b> {
    pos: &'b mut Vec<V2>,
    vel: &'b mut Vec<V2>,
    dt: bool,
}

impl<'de> Visitor<'de> for PosVel<'_> {
    type Value = f32;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("positions and velocities")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<f32, A::Error> {
        field(&mut seq, Append(self.pos), 0)?;
        field(&mut seq, Append(self.vel), 1)?;
        if self.dt { field(&mut seq, std::marker::PhantomData::<f32>, 2) } else { Ok(0.0) }
    }
}

/// `v` or an error naming what is missing.
fn sink<'b, T, E: de::Error>(v: Option<&'b mut Vec<T>>, what: &str) -> Result<&'b mut Vec<T>, E> {
    v.ok_or_else(|| E::custom(format_args!("unexpected {what} in the reply")))
}

const REQUESTS: &[&str] = &["Noop", "Integrate", "Boids", "Events", "Frames", "SaveState", "RestoreState", "Shutdown"];
const RESPONSES: &[&str] = &["Hello", "Done", "Positions", "Bodies", "Pongs", "Frames", "State", "Error"];

impl<'de> DeserializeSeed<'de> for RequestSeed<'_> {
    type Value = Req;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Req, D::Error> {
        d.deserialize_enum("Request", REQUESTS, self)
    }
}

impl<'de> Visitor<'de> for RequestSeed<'_> {
    type Value = Req;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a request")
    }
    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<Req, A::Error> {
        let b = self.0;
        let (tag, v): (u32, _) = data.variant()?;
        // Variant indices: the order of `Request`.
        Ok(match tag {
            0 => v.unit_variant().map(|()| Req::Noop)?,
            1 | 2 => {
                b.pos.clear();
                b.vel.clear();
                let dt =
                    v.struct_variant(&["pos", "vel", "dt"], PosVel { pos: &mut b.pos, vel: &mut b.vel, dt: true })?;
                if tag == 1 { Req::Integrate { dt } } else { Req::Boids { dt } }
            }
            3 => {
                b.pings.clear();
                v.newtype_variant_seed(Append(&mut b.pings))?;
                Req::Events
            }
            4 => v.unit_variant().map(|()| Req::Frames)?,
            5 => v.unit_variant().map(|()| Req::SaveState)?,
            6 => {
                b.bytes.clear();
                v.newtype_variant_seed(Append(&mut b.bytes))?;
                Req::RestoreState
            }
            7 => v.unit_variant().map(|()| Req::Shutdown)?,
            _ => return Err(de::Error::invalid_value(Unexpected::Unsigned(tag.into()), &"a request")),
        })
    }
}

impl<'de> DeserializeSeed<'de> for ResponseSeed<'_> {
    type Value = Reply;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Reply, D::Error> {
        d.deserialize_enum("Response", RESPONSES, self)
    }
}

impl<'de> Visitor<'de> for ResponseSeed<'_> {
    type Value = Reply;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a response")
    }
    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<Reply, A::Error> {
        let (tag, v): (u32, _) = data.variant()?;
        // Variant indices: the order of `Response`.
        Ok(match tag {
            0 => Reply::Hello { version: v.struct_variant(&["version"], One)? },
            1 => v.unit_variant().map(|()| Reply::Done)?,
            2 => {
                v.newtype_variant_seed(Append(sink(self.pos, "positions")?))?;
                Reply::Positions
            }
            3 => {
                let fields =
                    PosVel { pos: sink(self.pos, "positions")?, vel: sink(self.vel, "velocities")?, dt: false };
                v.struct_variant(&["pos", "vel"], fields)?;
                Reply::Bodies
            }
            4 => {
                v.newtype_variant_seed(Append(sink(self.pongs, "answers")?))?;
                Reply::Pongs
            }
            5 => Reply::Frames(v.newtype_variant()?),
            6 => {
                v.newtype_variant_seed(Append(sink(self.bytes, "state")?))?;
                Reply::State
            }
            7 => Reply::Error(v.newtype_variant()?),
            _ => return Err(de::Error::invalid_value(Unexpected::Unsigned(tag.into()), &"a response")),
        })
    }
}

/// The one field of `Hello`.
struct One;

impl<'de> Visitor<'de> for One {
    type Value = u32;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a version")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<u32, A::Error> {
        field(&mut seq, std::marker::PhantomData::<u32>, 0)
    }
}

/// One end of the connection: length-prefixed postcard frames, with one
/// reused buffer each way.
pub struct Channel {
    stream: BufReader<UnixStream>,
    /// The frame being sent: 4 bytes of length, then the payload. Kept at
    /// the largest size needed so far (postcard writes into a slice).
    out: Vec<u8>,
    /// The payload being received, kept at the largest size so far.
    inp: Vec<u8>,
}

impl Channel {
    pub fn new(stream: UnixStream) -> Channel {
        Channel { stream: BufReader::with_capacity(64 << 10, stream), out: vec![0; 64 << 10], inp: Vec::new() }
    }

    pub fn stream(&self) -> &UnixStream {
        self.stream.get_ref()
    }

    /// Sends `msg` as one frame.
    pub fn send<T: Serialize>(&mut self, msg: &T) -> io::Result<()> {
        let len = loop {
            let size = self.out.len();
            match postcard::to_slice(msg, &mut self.out[4..]) {
                Ok(payload) => break payload.len(),
                Err(postcard::Error::SerializeBufferFull) if size <= MAX_FRAME => self.out.resize(size * 2, 0),
                Err(e) => return Err(io::Error::other(format!("cannot encode {}: {e}", std::any::type_name::<T>()))),
            }
        };
        self.out[..4].copy_from_slice(&(len as u32).to_le_bytes());
        self.stream.get_ref().write_all(&self.out[..4 + len])
    }

    /// Receives one frame and decodes it with `seed`; `None` if the other
    /// side closed the connection between frames.
    pub fn recv<V, S>(&mut self, seed: S) -> io::Result<Option<V>>
    where
        S: for<'de> DeserializeSeed<'de, Value = V>,
    {
        if self.stream.fill_buf()?.is_empty() {
            return Ok(None);
        }
        let mut len = [0; 4];
        self.stream.read_exact(&mut len)?;
        let len = u32::from_le_bytes(len) as usize;
        if len > MAX_FRAME {
            return Err(io::Error::new(io::ErrorKind::InvalidData, format!("a frame of {len} bytes")));
        }
        if self.inp.len() < len {
            self.inp.resize(len, 0);
        }
        let payload = &mut self.inp[..len];
        self.stream.read_exact(payload)?;
        let mut de = postcard::Deserializer::from_bytes(payload);
        let value = seed.deserialize(&mut de).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        match de.finalize() {
            Ok([]) => Ok(Some(value)),
            _ => Err(io::Error::new(io::ErrorKind::InvalidData, "bytes left after the message")),
        }
    }
}
