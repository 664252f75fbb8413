//! `tftpd ADDR:PORT DIR`: serve a directory of public files read-only (the TFTP benchmark's
//! server; `hookswitch serve --tftp` embeds the same library call, on the same kind of
//! runtime: tokio's default multi-thread one).

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let (Some(addr), Some(dir), None) = (args.next(), args.next(), args.next()) else {
        eprintln!("usage: tftpd ADDR:PORT DIR");
        return ExitCode::from(2);
    };
    let dir = PathBuf::from(dir);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("tftpd: tokio runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let served = runtime.block_on(async {
        let socket = tokio::net::UdpSocket::bind(&addr)
            .await
            .map_err(|e| std::io::Error::new(e.kind(), format!("bind {addr}: {e}")))?;
        hookswitch_tftp::serve_dir(socket, &dir, hookswitch_tftp::Limits::default()).await
    });
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tftpd: {e}");
            ExitCode::FAILURE
        }
    }
}
