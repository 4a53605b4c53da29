//! A helper program in a process group of its own, killed whole on drop: chromedriver leaves
//! Chromium's processes behind when it alone is killed.

use std::os::unix::process::CommandExt;
use std::process::{Child, Command};

use rustix::process::{Pid, Signal, kill_process_group};

pub struct ProcessGroup {
    /// The group's leader, whose pid is the group's id; `None` once killed and reaped.
    leader: Option<Child>,
}

impl ProcessGroup {
    /// Spawns `command` as the leader of a new process group.
    pub fn spawn(command: &mut Command) -> std::io::Result<ProcessGroup> {
        let leader = command.process_group(0).spawn()?;
        Ok(ProcessGroup {
            leader: Some(leader),
        })
    }

    pub fn leader(&mut self) -> &mut Child {
        self.leader.as_mut().expect("a live process group")
    }

    /// Kills every process of the group and reaps the leader (the others are not ours).
    pub fn kill(&mut self) {
        if let Some(mut leader) = self.leader.take() {
            // ESRCH: the whole group is gone already.
            let _ = kill_process_group(Pid::from_child(&leader), Signal::KILL);
            let _ = leader.wait();
        }
    }
}

impl Drop for ProcessGroup {
    fn drop(&mut self) {
        self.kill();
    }
}
