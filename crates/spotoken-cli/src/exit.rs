//! Every exit code `spotoken` ends with, in one table: the README's *Exit codes*
//! section is checked against [`Exit::DOCUMENTED`] and the engine's codes.
//!
//! A failure's code decides its exit code (`spotoken_core::Code::exit_class`, 1–8);
//! the few that are not failures but still not 0 are here beside them.

use spotoken_core::{Error, ExitClass};

/// How a command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Success,
    /// A failure, by its code's exit class.
    Failed(ExitClass),
    /// `status`: at least one account needs sign-in.
    NeedsSignIn,
    /// `scopes`: the account cannot make the call (a scope missing, or withdrawn).
    CannotCall,
    /// `exec`: the command could not be started, as a shell's 127.
    CannotRun,
    /// `exec`: the command's own exit code (128 + N for signal N).
    Command(u8),
}

impl Exit {
    /// The codes a command gives that are not a failure's class, as the README lists them.
    pub const DOCUMENTED: &'static [Exit] = &[Exit::Success, Exit::NeedsSignIn, Exit::CannotCall, Exit::CannotRun];

    /// An unexpected failure outside any code (stdout gone, the runtime not starting).
    pub const OTHER: Exit = Exit::Failed(ExitClass::Other);

    pub fn code(self) -> u8 {
        match self {
            Self::Success => 0,
            Self::Failed(class) => class.exit_code(),
            Self::NeedsSignIn => 1,
            Self::CannotCall => 9,
            Self::CannotRun => 127,
            Self::Command(code) => code,
        }
    }
}

impl From<&Error> for Exit {
    fn from(e: &Error) -> Self {
        Self::Failed(e.diagnose().code.exit_class())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_code_is_the_one_the_readme_gives() {
        let codes: Vec<u8> = Exit::DOCUMENTED.iter().map(|e| e.code()).collect();
        assert_eq!(codes, [0, 1, 9, 127]);
        assert_eq!(Exit::OTHER.code(), 1);
        assert_eq!(Exit::Failed(ExitClass::NotAllowed).code(), 8);
        assert_eq!(Exit::Command(42).code(), 42);
        assert_eq!(Exit::from(&Error::NotConfigured).code(), 3);
    }
}
