//! `circ`: parse, print, check and evaluate circuit text files.
//!
//! Exit codes: 0 ok, 1 differences or a failed check, 2 usage or parse errors.
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod commands;
mod device;
mod eval_cmd;
mod opt_cmd;
mod sample_cmd;
mod show_cmd;

use std::process::ExitCode;

use clap::Parser;

/// Exit status a command asks for.
pub(crate) enum Outcome {
    Ok,
    Differences,
}

/// An error together with the exit code it maps to.
pub(crate) struct Failure {
    code: u8,
    message: String,
}

impl Failure {
    pub(crate) fn usage(message: impl Into<String>) -> Failure {
        Failure { code: 2, message: message.into() }
    }

    pub(crate) fn check(message: impl Into<String>) -> Failure {
        Failure { code: 1, message: message.into() }
    }
}

impl From<anyhow::Error> for Failure {
    fn from(e: anyhow::Error) -> Failure {
        Failure { code: 2, message: format!("{e:#}") }
    }
}

fn main() -> ExitCode {
    let cli = commands::Cli::parse();
    match commands::run(cli) {
        Ok(Outcome::Ok) => ExitCode::SUCCESS,
        Ok(Outcome::Differences) => ExitCode::from(1),
        Err(f) => {
            eprintln!("{}", f.message);
            ExitCode::from(f.code)
        }
    }
}
