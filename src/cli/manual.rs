//! `siis completions` and `siis man`: shell completions and manual pages generated from the
//! command line's own definition (clap), so they cannot drift from it.

use std::io::Write;
use std::path::Path;

use clap::CommandFactory;
use clap_complete::Shell;

use super::Cli;

/// The completion script for `shell`, on standard output.
pub fn completions(shell: Shell) -> anyhow::Result<()> {
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "siis", &mut script);
    print(&script)
}

/// siis.1 on standard output, or, with `out`, siis.1 and one page per subcommand
/// (siis-serve.1, siis-convenios-check.1, …) written to that folder.
pub fn man(out: Option<&Path>) -> anyhow::Result<()> {
    let command = Cli::command();
    match out {
        None => {
            let mut page = Vec::new();
            clap_mangen::Man::new(command).render(&mut page)?;
            print(&page)
        }
        Some(dir) => {
            std::fs::create_dir_all(dir)
                .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", dir.display()))?;
            clap_mangen::generate_to(command, dir)
                .map_err(|e| anyhow::anyhow!("{}: {e}", dir.display()))?;
            println!(
                "{}: siis.1 and one page per subcommand written",
                dir.display()
            );
            Ok(())
        }
    }
}

fn print(bytes: &[u8]) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(bytes)?;
    Ok(stdout.flush()?)
}
