//! What keeps the tokens: on Linux, the program that answers as the Secret Service
//! (gnome-keyring, KeePassXC, KWallet's), elsewhere the platform's own keychain. A fix
//! that tells a KeePassXC user to unlock gnome-keyring sends them nowhere: the words of
//! every keychain diagnosis come from here.

/// How to give a person more time than a script's wait.
pub const WAIT_LONGER: &str = "To wait longer for the password, set SPOTOKEN_KEYCHAIN_TIMEOUT_SECS (seconds; \
                               scripts wait 10 by default, a terminal or the window 120).";

/// A keychain, as far as its words differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provider {
    GnomeKeyring,
    KeePassXc,
    /// KDE Plasma's Secret Service (`kwalletd5`, `kwalletd6`, `ksecretd`).
    KWallet,
    /// A Secret Service whose program is not one of the above, or not known.
    OtherSecretService,
    CredentialManager,
    MacKeychain,
}

impl Provider {
    /// This machine's. On Linux, the process that owns `org.freedesktop.secrets` on the
    /// session bus, asked of the bus itself (which answers even while the keychain does
    /// not); [`Provider::OtherSecretService`] when that cannot be told.
    pub fn detect() -> Self {
        #[cfg(target_os = "linux")]
        {
            owner_program().map_or(Self::OtherSecretService, |name| Self::from_program(&name))
        }
        #[cfg(windows)]
        {
            Self::CredentialManager
        }
        #[cfg(target_os = "macos")]
        {
            Self::MacKeychain
        }
        #[cfg(not(any(target_os = "linux", windows, target_os = "macos")))]
        {
            Self::OtherSecretService
        }
    }

    /// From the owning process's name (`/proc/PID/comm`, at most 15 characters, or the
    /// executable's file name).
    pub fn from_program(name: &str) -> Self {
        let name = name.trim().rsplit('/').next().unwrap_or_default().to_ascii_lowercase();
        if name.starts_with("keepassxc") {
            Self::KeePassXc
        } else if name.starts_with("gnome-keyring") {
            Self::GnomeKeyring
        } else if name.starts_with("kwalletd") || name == "ksecretd" {
            Self::KWallet
        } else {
            Self::OtherSecretService
        }
    }

    /// "KeePassXC", "gnome-keyring", …: what the person would call it.
    pub fn name(self) -> &'static str {
        match self {
            Self::GnomeKeyring => "gnome-keyring",
            Self::KeePassXc => "KeePassXC",
            Self::KWallet => "KWallet",
            Self::OtherSecretService => "the keychain",
            Self::CredentialManager => "Windows Credential Manager",
            Self::MacKeychain => "the macOS Keychain",
        }
    }

    /// What is locked, as a sentence's subject.
    pub fn locked_thing(self) -> &'static str {
        match self {
            Self::GnomeKeyring => "The gnome-keyring keyring",
            Self::KeePassXc => "KeePassXC's database",
            Self::KWallet => "KWallet's wallet",
            Self::OtherSecretService => "The keychain",
            Self::CredentialManager => "Windows Credential Manager",
            Self::MacKeychain => "The macOS login keychain",
        }
    }

    /// How to unlock it.
    pub fn unlock_fix(self) -> &'static str {
        match self {
            Self::GnomeKeyring => {
                "Unlock the keyring when it asks (log in to the desktop, or open Passwords and Keys); in a \
                 headless session: `echo -n PASSWORD | gnome-keyring-daemon --unlock --components=secrets`."
            }
            Self::KeePassXc => "Unlock the database in KeePassXC (its unlock window may be behind other windows).",
            Self::KWallet => "Unlock the wallet when KWallet asks (or open KWallet Manager).",
            Self::OtherSecretService => {
                "Unlock the program that keeps your secrets (it answers as the Secret Service)."
            }
            Self::CredentialManager => "Log in to Windows as this user: Credential Manager opens with the session.",
            Self::MacKeychain => "Unlock the login keychain (Keychain Access, or `security unlock-keychain`).",
        }
    }

    /// Whether a search of a locked collection still finds its entries, as the Secret
    /// Service specification has it (only their secrets wait for the unlock):
    /// gnome-keyring's do, so finding none there means there is none; KeePassXC finds
    /// nothing at all in a locked database. Those not verified here are taken to be
    /// like KeePassXC, so a locked keychain is never said to have lost the tokens.
    /// (Credential Manager and the macOS Keychain have no Secret Service search.)
    pub fn finds_locked_entries(self) -> bool {
        matches!(self, Self::GnomeKeyring)
    }

    /// When it offers nowhere to keep tokens.
    pub fn no_collection_fix(self) -> &'static str {
        match self {
            Self::KeePassXc => {
                "In KeePassXC, open Database → Database Settings → Secret Service Integration and expose a group \
                 (and keep Tools → Settings → Secret Service Integration switched on)."
            }
            _ => "Create a keyring (a collection) in your keychain program, or make one its default.",
        }
    }
}

/// The name of the process that owns `org.freedesktop.secrets` on the session bus.
#[cfg(target_os = "linux")]
fn owner_program() -> Option<String> {
    use dbus::blocking::Connection;
    let connection = Connection::new_session().ok()?;
    let bus = connection.with_proxy("org.freedesktop.DBus", "/org/freedesktop/DBus", std::time::Duration::from_secs(1));
    let (pid,): (u32,) =
        bus.method_call("org.freedesktop.DBus", "GetConnectionUnixProcessID", ("org.freedesktop.secrets",)).ok()?;
    std::fs::read_link(format!("/proc/{pid}/exe"))
        .ok()
        .and_then(|exe| exe.file_name().map(|n| n.to_string_lossy().into_owned()))
        .or_else(|| std::fs::read_to_string(format!("/proc/{pid}/comm")).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_gnome_keyring_is_trusted_to_find_locked_entries() {
        let all = [
            Provider::GnomeKeyring,
            Provider::KeePassXc,
            Provider::KWallet,
            Provider::OtherSecretService,
            Provider::CredentialManager,
            Provider::MacKeychain,
        ];
        let finding: Vec<_> = all.into_iter().filter(|p| p.finds_locked_entries()).collect();
        assert_eq!(finding, [Provider::GnomeKeyring]);
    }

    #[test]
    fn programs_are_told_apart() {
        assert_eq!(Provider::from_program("keepassxc"), Provider::KeePassXc);
        assert_eq!(Provider::from_program("/usr/bin/keepassxc\n"), Provider::KeePassXc);
        // comm keeps 15 characters.
        assert_eq!(Provider::from_program("gnome-keyring-d"), Provider::GnomeKeyring);
        assert_eq!(Provider::from_program("gnome-keyring-daemon"), Provider::GnomeKeyring);
        assert_eq!(Provider::from_program("kwalletd6"), Provider::KWallet);
        assert_eq!(Provider::from_program("ksecretd"), Provider::KWallet);
        assert_eq!(Provider::from_program("secretd"), Provider::OtherSecretService);
        assert_eq!(Provider::from_program(""), Provider::OtherSecretService);
    }

    #[test]
    fn each_says_what_is_locked() {
        assert_eq!(Provider::GnomeKeyring.locked_thing(), "The gnome-keyring keyring");
        assert_eq!(Provider::KeePassXc.locked_thing(), "KeePassXC's database");
        assert_eq!(Provider::OtherSecretService.locked_thing(), "The keychain");
    }

    #[test]
    fn each_names_itself_in_its_fix() {
        assert!(Provider::KeePassXc.unlock_fix().contains("KeePassXC"));
        assert!(Provider::GnomeKeyring.unlock_fix().contains("gnome-keyring-daemon --unlock"));
        assert!(!Provider::KeePassXc.unlock_fix().contains("gnome-keyring"));
        assert!(Provider::KWallet.unlock_fix().contains("KWallet"));
        assert!(Provider::KeePassXc.no_collection_fix().contains("expose a group"));
    }
}
