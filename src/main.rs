//! `medshelf`: the command-line face of the MedShelf engine.

mod cli;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    match cli::run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("medshelf: {e:#}");
            ExitCode::from(2)
        }
    }
}
