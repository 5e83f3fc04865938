//! The server's bounds on connections: at most so many open at once, and none kept by a client
//! that stops talking. A connection that moves no byte either way for the idle timeout is
//! closed — a half-sent request (slow loris), an idle keep-alive, a client that went away. Live
//! event streams stay open because the server writes a keep-alive more often than that.
//!
//! At the connection limit, a new connection is still taken at once and the connection that has
//! moved a byte least recently is closed to make room. Idle sockets and slow half-sent requests
//! (a flood of either) are always the first to go, so they can never keep the health check or a
//! real client waiting in the kernel's backlog, and the server never holds more file
//! descriptors than the limit (plus the few being closed).

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::connect_info::Connected;
use axum::serve::{IncomingStream, Listener};
use futures::task::AtomicWaker;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::{sleep, Instant, Sleep};

/// How many connections and how long a silent one may stay.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_connections: usize,
    pub idle_timeout: Duration,
}

/// A TCP listener that hands out [`Bounded`] connections.
pub struct BoundedListener {
    inner: TcpListener,
    limits: Limits,
    open: Arc<Open>,
}

impl BoundedListener {
    pub fn new(inner: TcpListener, limits: Limits) -> Self {
        BoundedListener {
            inner,
            limits,
            open: Arc::new(Open {
                epoch: Instant::now(),
                next_id: AtomicU64::new(0),
                connections: Mutex::default(),
            }),
        }
    }
}

impl Listener for BoundedListener {
    type Io = Bounded;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Bounded, SocketAddr) {
        loop {
            match self.inner.accept().await {
                Ok((stream, addr)) => {
                    let _ = stream.set_nodelay(true);
                    self.open.make_room(self.limits.max_connections.max(1));
                    let bounded = Bounded::new(stream, self.open.clone(), self.limits.idle_timeout);
                    return (bounded, addr);
                }
                Err(e) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!("accepting a connection failed: {e}");
                    sleep(Duration::from_millis(50)).await;
                }
            }
        }
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }
}

/// The open connections, each by its activity, so the least recently active can be found and
/// closed.
struct Open {
    epoch: Instant,
    next_id: AtomicU64,
    connections: Mutex<HashMap<u64, Arc<Activity>>>,
}

impl Open {
    /// Milliseconds since the listener started: the clock activity is kept in.
    fn now(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
    }

    /// With `max` connections or more open, closes the one that moved a byte least recently.
    fn make_room(&self, max: usize) {
        let connections = self.connections.lock().expect("connections lock");
        let live = connections
            .values()
            .filter(|a| !a.evicted.load(Ordering::Relaxed));
        if live.clone().count() < max {
            return;
        }
        if let Some(oldest) = live.min_by_key(|a| a.last.load(Ordering::Relaxed)) {
            oldest.evicted.store(true, Ordering::Relaxed);
            oldest.waker.wake();
        }
    }
}

/// When a connection last moved a byte, and whether it was closed to make room.
struct Activity {
    last: AtomicU64,
    evicted: AtomicBool,
    /// The connection's task, woken to notice its eviction.
    waker: AtomicWaker,
}

/// The client's address, as handlers see it (`ConnectInfo<ClientAddr>`).
#[derive(Debug, Clone, Copy)]
pub struct ClientAddr(pub SocketAddr);

impl Connected<IncomingStream<'_, BoundedListener>> for ClientAddr {
    fn connect_info(stream: IncomingStream<'_, BoundedListener>) -> Self {
        ClientAddr(*stream.remote_addr())
    }
}

/// One connection: it counts among the open ones until dropped, and fails once it has been
/// silent for the idle timeout or was closed to make room for a newer one.
pub struct Bounded {
    stream: TcpStream,
    id: u64,
    activity: Arc<Activity>,
    open: Arc<Open>,
    idle: Duration,
    deadline: Pin<Box<Sleep>>,
}

impl Bounded {
    fn new(stream: TcpStream, open: Arc<Open>, idle: Duration) -> Self {
        let id = open.next_id.fetch_add(1, Ordering::Relaxed);
        let activity = Arc::new(Activity {
            last: AtomicU64::new(open.now()),
            evicted: AtomicBool::new(false),
            waker: AtomicWaker::new(),
        });
        open.connections
            .lock()
            .expect("connections lock")
            .insert(id, activity.clone());
        Bounded {
            stream,
            id,
            activity,
            open,
            idle,
            deadline: Box::pin(sleep(idle)),
        }
    }

    fn progressed(&mut self) {
        self.deadline.as_mut().reset(Instant::now() + self.idle);
        self.activity.last.store(self.open.now(), Ordering::Relaxed);
    }

    /// An error once the connection was closed to make room; checked before any I/O.
    fn check_evicted(&self) -> io::Result<()> {
        if self.activity.evicted.load(Ordering::Relaxed) {
            return Err(io::Error::new(
                io::ErrorKind::ConnectionAborted,
                "closed to make room for a new connection (the server is at its connection limit)",
            ));
        }
        Ok(())
    }

    /// Pending I/O turns into an error once the deadline passes or the connection is evicted.
    fn check_idle<T>(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<T>> {
        self.activity.waker.register(cx.waker());
        if let Err(e) = self.check_evicted() {
            return Poll::Ready(Err(e));
        }
        match self.deadline.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the connection was idle too long",
            ))),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl Drop for Bounded {
    fn drop(&mut self) {
        self.open
            .connections
            .lock()
            .expect("connections lock")
            .remove(&self.id);
    }
}

impl AsyncRead for Bounded {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        self.check_evicted()?;
        let before = buf.filled().len();
        match Pin::new(&mut self.stream).poll_read(cx, buf) {
            Poll::Ready(result) => {
                if buf.filled().len() > before {
                    self.progressed();
                }
                Poll::Ready(result)
            }
            Poll::Pending => self.check_idle(cx),
        }
    }
}

impl AsyncWrite for Bounded {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.check_evicted()?;
        match Pin::new(&mut self.stream).poll_write(cx, data) {
            Poll::Ready(Ok(n)) => {
                if n > 0 {
                    self.progressed();
                }
                Poll::Ready(Ok(n))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => self.check_idle(cx),
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}
