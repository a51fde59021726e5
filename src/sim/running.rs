//! What a simulated API's handle holds while it runs: its actix-web server
//! on 127.0.0.1 and, for simulated chains, the timer that makes blocks.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::dev::ServerHandle;
use actix_web::{App, HttpServer, web};

/// A running simulator server. Dropping it stops the timer and asks the
/// server to stop without waiting; [`Running::stop`] waits.
pub(crate) struct Running {
    /// The bound 127.0.0.1 address.
    pub(crate) addr: SocketAddr,
    server: ServerHandle,
    ticker: Mutex<Option<actix_rt::task::JoinHandle<()>>>,
}

impl Running {
    /// Binds 127.0.0.1 on a free port and serves the routes `configure`
    /// registers, with `data` as app data, in the current actix System
    /// (one worker, no signal handling).
    pub(crate) fn start<T: Send + Sync + 'static>(
        data: Arc<T>,
        configure: fn(&mut web::ServiceConfig),
    ) -> std::io::Result<Running> {
        let data = web::Data::from(data);
        let server =
            HttpServer::new(move || App::new().app_data(data.clone()).configure(configure))
                .workers(1)
                // Like a real API front end: idle keep-alive connections live for
                // a while (actix-web's default is 5 s, which would make clients
                // reconnect every few seconds).
                .keep_alive(Duration::from_secs(75))
                .disable_signals()
                .shutdown_timeout(1)
                .bind(("127.0.0.1", 0))?;
        let addr = server
            .addrs()
            .first()
            .copied()
            .ok_or_else(|| std::io::Error::other("the simulator bound no address"))?;
        let running = server.run();
        let server = running.handle();
        actix_rt::spawn(running);
        Ok(Running {
            addr,
            server,
            ticker: Mutex::new(None),
        })
    }

    /// Calls `tick` every `period` (at least 1 ms) until it returns false
    /// or the server stops; replaces an earlier timer.
    pub(crate) fn tick_every(&self, period: Duration, mut tick: impl FnMut() -> bool + 'static) {
        let period = period.max(Duration::from_millis(1));
        let task = actix_rt::spawn(async move {
            let mut interval =
                actix_rt::time::interval_at(actix_rt::time::Instant::now() + period, period);
            loop {
                interval.tick().await;
                if !tick() {
                    break;
                }
            }
        });
        let old = self
            .ticker
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .replace(task);
        if let Some(t) = old {
            t.abort();
        }
    }

    fn stop_ticker(&self) {
        let ticker = self.ticker.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(t) = ticker {
            t.abort();
        }
    }

    /// Stops the timer and the server, letting in-flight requests finish.
    pub(crate) async fn stop(&self) {
        self.stop_ticker();
        self.server.stop(true).await;
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.stop_ticker();
        // The stop command is sent when `stop` is called; nobody is left to
        // wait for its completion.
        drop(self.server.stop(false));
    }
}
