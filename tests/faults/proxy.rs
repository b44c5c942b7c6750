//! The fault proxy itself, against a local server sending a known stream:
//! its faults land exactly where its plan says, on the connections it says.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, Shutdown, TcpListener, TcpStream};
use std::sync::mpsc;
use std::time::Duration;

use crate::support::faultproxy::{Connections, Direction, Fault, FaultProxy, Plan, Rule};

/// 100,000 bytes: lines `line 00000\r\n`, 12 bytes each.
fn pattern() -> Vec<u8> {
    (0..100_000 / 12 + 1)
        .flat_map(|n| format!("line {n:05}\r\n").into_bytes())
        .take(100_000)
        .collect()
}

/// A server that sends `pattern()` to every client and then reads what the
/// client sends until it closes, reporting the number of bytes it received.
fn start_server() -> (u16, mpsc::Receiver<usize>) {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let port = listener.local_addr().unwrap().port();
    let (report, received) = mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let report = report.clone();
            std::thread::spawn(move || {
                let _ = stream.write_all(&pattern());
                let _ = stream.shutdown(Shutdown::Write);
                let mut got = Vec::new();
                let _ = stream.read_to_end(&mut got);
                let _ = report.send(got.len());
            });
        }
    });
    (port, received)
}

/// Connects through the proxy, sends `send` bytes, and reads to the end.
fn exchange(proxy: &FaultProxy, send: usize) -> Vec<u8> {
    let mut stream = TcpStream::connect((Ipv4Addr::LOCALHOST, proxy.port())).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let _ = stream.write_all(&vec![b'x'; send]);
    let _ = stream.shutdown(Shutdown::Write);
    let mut got = Vec::new();
    let _ = stream.read_to_end(&mut got);
    got
}

fn server_got(received: &mpsc::Receiver<usize>) -> usize {
    received
        .recv_timeout(Duration::from_secs(30))
        .expect("the server reports what it received")
}

#[test]
fn the_proxy_breaks_connections_exactly_where_its_plan_says() {
    let (port, received) = start_server();
    let full = pattern();

    // A drop after 12,345 bytes to the client, on the first connection only.
    let proxy = FaultProxy::start(
        port,
        Plan::clean().with(Rule::to_client(Fault::DropAfter(12_345)).on(Connections::First(1))),
    );
    assert_eq!(exchange(&proxy, 0), full[..12_345]);
    server_got(&received);
    assert_eq!(
        exchange(&proxy, 0),
        full,
        "the second connection is untouched"
    );
    server_got(&received);
    let stats = proxy.stats();
    assert_eq!(
        (stats.connections, stats.drops, stats.bytes_to_client),
        (2, 1, 112_345)
    );

    // A drop after 5,000 bytes to the server.
    proxy.set_plan(Plan::drop_every(Direction::ToServer, 5_000));
    exchange(&proxy, 20_000);
    assert_eq!(server_got(&received), 5_000);

    // A line in place of the rest: the client gets the first `kept` bytes,
    // then the line.
    let assert_injected = |after: u64, marker: &[u8], line: &[u8], kept: usize| {
        proxy.set_plan(Plan::clean().with(Rule::to_client(Fault::InjectAndClose {
            after,
            marker: marker.to_vec(),
            line: line.to_vec(),
        })));
        let got = exchange(&proxy, 0);
        server_got(&received);
        let expected = [&full[..kept], line].concat();
        assert_eq!(
            String::from_utf8_lossy(&got),
            String::from_utf8_lossy(&expected)
        );
    };
    // After the first line end 5,000 bytes in: line 416 ends at byte 5,004.
    assert_injected(5_000, b"\r\n", b"* BYE injected\r\n", 5_004);
    // After the line holding a marker.
    assert_injected(0, b"line 0050", b"-ERR injected\r\n", 501 * 12);

    // A stall, and latency: everything still arrives, in order.
    proxy.set_plan(
        Plan::clean()
            .with(Rule::to_client(Fault::StallAt {
                offset: 50_000,
                millis: 200,
            }))
            .with(Rule::to_client(Fault::Latency { millis: 1 })),
    );
    assert_eq!(exchange(&proxy, 100), full);
    assert_eq!(server_got(&received), 100);
    let stats = proxy.stats();
    assert_eq!((stats.stalls, stats.injections, stats.drops), (1, 2, 2));
}
