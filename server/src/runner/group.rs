//! The agent's processes, each started as the leader of a process group of its own, so what the
//! agent starts in turn (a shell's child, a framework's subprocess, a server it forks) belongs to
//! the group and ends with it. A group is killed whole when its handle is dropped (the case is
//! over, timed out, or abandoned) and, for any still alive, when the runner exits: nothing the
//! runner started outlives it.

use std::collections::BTreeSet;
use std::ops::{Deref, DerefMut};
use std::sync::Mutex;

use tokio::process::{Child, Command};

/// The groups started and not yet killed, for [`kill_all`].
static LIVE: Mutex<BTreeSet<i32>> = Mutex::new(BTreeSet::new());

/// A running agent process, leader of its own process group.
#[derive(Debug)]
pub struct Group {
    child: Child,
    id: Option<i32>,
}

impl Group {
    /// Starts `command` in a new process group.
    pub fn spawn(command: &mut Command) -> std::io::Result<Group> {
        let child = command.process_group(0).kill_on_drop(true).spawn()?;
        let id = child.id().map(|pid| pid as i32);
        if let Some(id) = id {
            LIVE.lock().expect("live groups lock").insert(id);
        }
        Ok(Group { child, id })
    }

    /// Kills every process of the group at once.
    pub fn kill_group(&self) {
        if let Some(id) = self.id {
            signal_group(id);
        }
    }
}

impl Deref for Group {
    type Target = Child;

    fn deref(&self) -> &Child {
        &self.child
    }
}

impl DerefMut for Group {
    fn deref_mut(&mut self) -> &mut Child {
        &mut self.child
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        if let Some(id) = self.id {
            signal_group(id);
            LIVE.lock().expect("live groups lock").remove(&id);
        }
    }
}

/// Kills every group still alive; for a runner about to exit, whose tasks may not all have
/// been dropped yet.
pub fn kill_all() {
    let live = std::mem::take(&mut *LIVE.lock().expect("live groups lock"));
    for id in live {
        signal_group(id);
    }
}

fn signal_group(id: i32) {
    // SAFETY: kill(2) with a negative pid signals that process group and touches no memory.
    // While any process of the group lives, its id is not reused; once none does, the call
    // finds no group and does nothing.
    unsafe {
        libc::kill(-id, libc::SIGKILL);
    }
}
