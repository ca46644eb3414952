use tokio::signal::windows;

/// `STATUS_CONTROL_C_EXIT` (0xC000013A), the code Windows reports for a console
/// program ended by Ctrl-C.
const CONTROL_C_EXIT: i32 = 0xC000_013A_u32 as i32;

pub fn listen(on_request: fn(i32)) {
    macro_rules! each {
        ($($kind:ident),*) => {$(
            match windows::$kind() {
                Ok(mut stream) => {
                    tokio::spawn(async move {
                        while stream.recv().await.is_some() {
                            on_request(CONTROL_C_EXIT);
                        }
                    });
                }
                Err(e) => tracing::warn!(event = stringify!($kind), error = %e, "cannot listen for a console event"),
            }
        )*};
    }
    each!(ctrl_c, ctrl_break, ctrl_close, ctrl_logoff, ctrl_shutdown);
}
