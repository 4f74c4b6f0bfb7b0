//! A real DNS server on loopback for the domain-verification tests: Debian's dnsmasq
//! (`apt-get install dnsmasq-base`), answering the TXT records a test gives it and NXDOMAIN for
//! every other name, forwarding nothing.

use std::fmt::Write as _;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

/// dnsmasq on `address` (127.0.0.1, UDP and TCP) until dropped.
pub struct DnsServer {
    pub address: SocketAddr,
    child: Child,
    program: PathBuf,
    /// The records file dnsmasq reads and the log it writes.
    dir: TempDir,
}

/// A DNS answer: its response code (0 NOERROR, 3 NXDOMAIN, 5 REFUSED) and the TXT records
/// answered, each record's character-strings joined.
#[derive(Debug)]
pub struct TxtAnswer {
    pub rcode: u8,
    pub texts: Vec<String>,
}

impl DnsServer {
    /// Starts dnsmasq answering `txt_records` (name, value) on a free port. `None` after saying
    /// why when dnsmasq is missing (outside CI only).
    pub fn start(txt_records: &[(&str, &str)]) -> Option<DnsServer> {
        let program = match dnsmasq() {
            Ok(program) => program,
            Err(missing) => {
                crate::node::skip_or_fail(&missing);
                return None;
            }
        };
        let dir = tempfile::tempdir().expect("a temporary directory");
        // Another test may take the port between our choosing it and dnsmasq binding it.
        for _ in 0..5 {
            let address = SocketAddr::from((Ipv4Addr::LOCALHOST, free_port()));
            match launch(&program, dir.path(), address, txt_records) {
                Ok(child) => {
                    return Some(DnsServer {
                        address,
                        child,
                        program,
                        dir,
                    });
                }
                Err(failure) if failure.contains("in use") => continue,
                Err(failure) => panic!("{failure}"),
            }
        }
        panic!("dnsmasq found no free port in 5 tries");
    }

    /// Replaces the records, on the same address: dnsmasq rereads no TXT records on SIGHUP,
    /// so it restarts.
    pub fn set_records(&mut self, txt_records: &[(&str, &str)]) {
        stop(&mut self.child);
        // Between the stop and the start, another test's search for a free port may hold this
        // one for a moment: try again for a while before giving up.
        let mut tries = 0;
        self.child = loop {
            match launch(&self.program, self.dir.path(), self.address, txt_records) {
                Ok(child) => break child,
                Err(failure) if failure.contains("in use") && tries < 20 => {
                    tries += 1;
                    std::thread::sleep(Duration::from_millis(100));
                }
                Err(failure) => panic!("restarting: {failure}"),
            }
        };
    }

    /// Asks the server, over UDP, for the TXT records of `name`.
    pub fn lookup_txt(&self, name: &str) -> TxtAnswer {
        query(self.address, name, Duration::from_secs(2))
            .unwrap_or_else(|err| panic!("{} did not answer for {name}: {err}", self.address))
    }
}

impl Drop for DnsServer {
    fn drop(&mut self) {
        stop(&mut self.child);
    }
}

fn stop(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}

/// dnsmasq's path: `$DNSMASQ`, else /usr/sbin/dnsmasq (outside a normal user's PATH), else
/// `dnsmasq` on the PATH.
fn dnsmasq() -> Result<PathBuf, String> {
    let program = std::env::var_os("DNSMASQ")
        .map(PathBuf::from)
        .or_else(|| Some(PathBuf::from("/usr/sbin/dnsmasq")).filter(|path| path.exists()))
        .unwrap_or_else(|| PathBuf::from("dnsmasq"));
    crate::node::tool_available(
        program.to_str().expect("a UTF-8 path"),
        "install dnsmasq (apt-get install dnsmasq-base)",
    )?;
    Ok(program)
}

/// A port free on 127.0.0.1 for both UDP and TCP, as dnsmasq takes both.
fn free_port() -> u16 {
    loop {
        let udp = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).expect("a UDP port");
        let port = udp.local_addr().unwrap().port();
        if TcpListener::bind((Ipv4Addr::LOCALHOST, port)).is_ok() {
            return port;
        }
    }
}

/// Starts dnsmasq and waits until it answers, or says why it did not.
fn launch(
    program: &Path,
    dir: &Path,
    address: SocketAddr,
    txt_records: &[(&str, &str)],
) -> Result<Child, String> {
    // In a file rather than on the command line: only the file's syntax has quotes, which keep
    // a value's commas and spaces in one string.
    let mut records = String::new();
    for (name, value) in txt_records {
        assert!(
            !name.contains([',', '"', '\\', '\n', '/']) && !value.contains('\n'),
            "a TXT record dnsmasq cannot take: {name} {value:?}"
        );
        let value = value.replace('\\', "\\\\").replace('"', "\\\"");
        writeln!(records, "txt-record={name},\"{value}\"").unwrap();
    }
    let records_file = dir.join("records.conf");
    std::fs::write(&records_file, records).map_err(|err| err.to_string())?;
    let log = dir.join("dnsmasq.log");
    let stderr = std::fs::File::create(&log).map_err(|err| err.to_string())?;
    let mut child = Command::new(program)
        .args([
            // No fork, no pid file, the log on standard error.
            "--keep-in-foreground",
            "--pid-file=",
            "--log-facility=-",
            &format!("--port={}", address.port()),
            "--listen-address=127.0.0.1",
            "--bind-interfaces",
            // Nothing from the machine's resolv.conf or /etc/hosts, nothing forwarded: every
            // name is local, so one without a record is NXDOMAIN (without this, REFUSED).
            "--no-resolv",
            "--no-poll",
            "--no-hosts",
            "--local=/#/",
            // Instead of /etc/dnsmasq.conf. (As root dnsmasq reads it, then drops to nobody.)
            &format!("--conf-file={}", records_file.display()),
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(stderr)
        .spawn()
        .map_err(|err| format!("{} could not start: {err}", program.display()))?;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            let log = std::fs::read_to_string(&log).unwrap_or_default();
            return Err(format!("dnsmasq on {address} exited ({status}):\n{log}"));
        }
        if query(address, "ready.invalid", Duration::from_millis(100)).is_ok() {
            return Ok(child);
        }
        if Instant::now() > deadline {
            stop(&mut child);
            let log = std::fs::read_to_string(&log).unwrap_or_default();
            return Err(format!(
                "dnsmasq on {address} did not answer in 10 s:\n{log}"
            ));
        }
    }
}

/// One TXT query over UDP, built and read by hand: the harness does not lean on the resolver
/// Charter uses.
fn query(server: SocketAddr, name: &str, timeout: Duration) -> Result<TxtAnswer, String> {
    // Any id will do: the answer comes to this query's own socket.
    let id = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos() as u16;
    // Header: id, flags (recursion desired), one question, no other records.
    let mut packet = Vec::new();
    packet.extend_from_slice(&id.to_be_bytes());
    packet.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
    for label in name.trim_end_matches('.').split('.') {
        packet.push(u8::try_from(label.len()).expect("a short label"));
        packet.extend_from_slice(label.as_bytes());
    }
    packet.push(0);
    packet.extend_from_slice(&[0, 16, 0, 1]); // TXT, IN

    let socket = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).map_err(|err| err.to_string())?;
    socket.set_read_timeout(Some(timeout)).unwrap();
    socket
        .send_to(&packet, server)
        .map_err(|err| err.to_string())?;
    let mut buffer = [0; 4096];
    let (length, _) = socket
        .recv_from(&mut buffer)
        .map_err(|err| err.to_string())?;
    let answer = &buffer[..length];
    read_answer(answer, id).ok_or_else(|| format!("a malformed answer: {answer:?}"))
}

fn read_answer(answer: &[u8], id: u16) -> Option<TxtAnswer> {
    let u16_at = |at: usize| Some(u16::from_be_bytes([*answer.get(at)?, *answer.get(at + 1)?]));
    if u16_at(0)? != id || answer.get(2)? & 0x80 == 0 {
        return None;
    }
    let rcode = answer.get(3)? & 0x0f;
    let questions = u16_at(4)?;
    let records = u16_at(6)?;
    // A name: labels up to an empty one, or ending in a compression pointer.
    let skip_name = |mut at: usize| -> Option<usize> {
        loop {
            let length = *answer.get(at)?;
            match length {
                0 => return Some(at + 1),
                _ if length & 0xc0 == 0xc0 => return Some(at + 2),
                _ => at += 1 + usize::from(length),
            }
        }
    };
    let mut at = 12;
    for _ in 0..questions {
        at = skip_name(at)? + 4;
    }
    let mut texts = Vec::new();
    for _ in 0..records {
        at = skip_name(at)?;
        let kind = u16_at(at)?;
        let data_length = usize::from(u16_at(at + 8)?);
        let data = answer.get(at + 10..at + 10 + data_length)?;
        at += 10 + data_length;
        if kind == 16 {
            let mut text = Vec::new();
            let mut rest = data;
            while let Some((&length, tail)) = rest.split_first() {
                text.extend_from_slice(tail.get(..usize::from(length))?);
                rest = &tail[usize::from(length)..];
            }
            texts.push(String::from_utf8_lossy(&text).into_owned());
        }
    }
    Some(TxtAnswer { rcode, texts })
}

/// The harness against dnsmasq alone: records answered, other names NXDOMAIN, and new records
/// on the same address after `set_records`.
#[test]
fn dnsmasq_answers_the_records_it_is_given_and_nothing_else() {
    let challenge = "_charter-challenge.example.test";
    let Some(mut dns) = DnsServer::start(&[(challenge, "abc")]) else {
        return;
    };
    assert!(dns.address.ip().is_loopback());
    let answer = dns.lookup_txt(challenge);
    assert_eq!((answer.rcode, answer.texts), (0, vec!["abc".to_owned()]));
    let unknown = dns.lookup_txt("unknown.example.test");
    assert_eq!(unknown.rcode, 3, "NXDOMAIN: {unknown:?}");
    assert!(unknown.texts.is_empty());
    assert_eq!(
        dns.lookup_txt("example.com").rcode,
        3,
        "nothing is forwarded"
    );
    TcpStream::connect(dns.address).expect("dnsmasq listens on TCP too");

    let address = dns.address;
    let odd = "v=1, \"quoted\" \\ spaced";
    dns.set_records(&[(challenge, "def"), ("other.example.test", odd)]);
    assert_eq!(dns.address, address);
    assert_eq!(dns.lookup_txt(challenge).texts, ["def"]);
    assert_eq!(dns.lookup_txt("other.example.test").texts, [odd]);
    dns.set_records(&[]);
    assert_eq!(dns.lookup_txt(challenge).rcode, 3);
}
