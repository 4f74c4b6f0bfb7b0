//! A real LDAP directory on loopback for the directory sign-in tests: Debian's OpenLDAP
//! (`apt-get install slapd`), with a database of its own loaded from the people a test gives it,
//! a TLS certificate from a CA the test makes (for StartTLS), and the password-policy overlay,
//! whose lockout makes a locked account's bind fail as a real directory's would.

use std::fmt::Write as _;
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

pub const SUFFIX: &str = "dc=acme,dc=test";
pub const ADMIN_DN: &str = "cn=admin,dc=acme,dc=test";
pub const ADMIN_PASSWORD: &str = "directory-admin-password";
pub const PEOPLE: &str = "ou=people,dc=acme,dc=test";

/// A person in the directory: uid, email, password, whether they are in the `charter` group
/// (`employeeType: charter`), whether their account is locked.
pub struct Entry<'a> {
    pub uid: &'a str,
    pub email: &'a str,
    pub password: &'a str,
    pub member: bool,
    pub locked: bool,
}

/// slapd on 127.0.0.1:`port` until dropped.
pub struct Slapd {
    pub port: u16,
    /// The CA (PEM) of the directory's TLS certificate.
    pub ca_pem: String,
    child: Child,
    _dir: TempDir,
}

impl Slapd {
    /// Starts slapd with `people`. `None` after saying why when slapd is missing (outside CI).
    pub fn start(people: &[Entry<'_>]) -> Option<Slapd> {
        if !Path::new("/usr/sbin/slapd").exists() {
            crate::node::skip_or_fail("install slapd (apt-get install slapd ldap-utils)");
            return None;
        }
        let dir = tempfile::tempdir().expect("a temporary directory");
        let ca_pem = write_tls(dir.path());
        std::fs::create_dir(dir.path().join("db")).unwrap();
        std::fs::write(dir.path().join("slapd.conf"), config(dir.path())).unwrap();
        std::fs::write(dir.path().join("data.ldif"), ldif(people)).unwrap();
        let loaded = Command::new("/usr/sbin/slapadd")
            .arg("-f")
            .arg(dir.path().join("slapd.conf"))
            .arg("-l")
            .arg(dir.path().join("data.ldif"))
            .output()
            .expect("slapadd runs");
        assert!(
            loaded.status.success(),
            "slapadd: {}",
            String::from_utf8_lossy(&loaded.stderr)
        );
        // Another test may take the port between our choosing it and slapd binding it.
        for _ in 0..5 {
            let port = crate::faults::free_port();
            if let Some(child) = launch(dir.path(), port) {
                return Some(Slapd {
                    port,
                    ca_pem,
                    child,
                    _dir: dir,
                });
            }
        }
        panic!("slapd found no free port in 5 tries");
    }

    /// `ldap://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("ldap://127.0.0.1:{}", self.port)
    }

    /// Freezes the directory (SIGSTOP): it accepts connections and answers nothing.
    pub fn freeze(&self) {
        signal(&self.child, "-STOP");
    }

    /// Stops it for good.
    pub fn stop(&mut self) {
        signal(&self.child, "-CONT");
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Slapd {
    fn drop(&mut self) {
        self.stop();
    }
}

fn signal(child: &Child, which: &str) {
    let _ = Command::new("kill")
        .args([which, &child.id().to_string()])
        .status();
}

/// slapd in the foreground on `port`, once it accepts connections; `None` when it exits first
/// (the port was taken).
fn launch(dir: &Path, port: u16) -> Option<Child> {
    let mut child = Command::new("/usr/sbin/slapd")
        .arg("-f")
        .arg(dir.join("slapd.conf"))
        .arg("-h")
        .arg(format!("ldap://127.0.0.1:{port}/"))
        .args(["-d", "0"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("slapd starts");
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if child.try_wait().unwrap().is_some() {
            let _ = child.wait();
            return None;
        }
        let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        if TcpStream::connect_timeout(&address, Duration::from_millis(100)).is_ok() {
            return Some(child);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("slapd did not listen within 10 s");
}

fn config(dir: &Path) -> String {
    let dir = dir.display();
    format!(
        "include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
modulepath /usr/lib/ldap
moduleload back_mdb
moduleload ppolicy
pidfile {dir}/slapd.pid
TLSCertificateFile {dir}/server.pem
TLSCertificateKeyFile {dir}/server.key
database mdb
suffix \"{SUFFIX}\"
rootdn \"{ADMIN_DN}\"
rootpw {ADMIN_PASSWORD}
directory {dir}/db
overlay ppolicy
ppolicy_default \"cn=default,ou=policies,{SUFFIX}\"
ppolicy_use_lockout
"
    )
}

fn ldif(people: &[Entry<'_>]) -> String {
    let mut out = format!(
        "dn: {SUFFIX}\nobjectClass: dcObject\nobjectClass: organization\no: Acme\ndc: acme\n\n\
         dn: {PEOPLE}\nobjectClass: organizationalUnit\nou: people\n\n\
         dn: ou=policies,{SUFFIX}\nobjectClass: organizationalUnit\nou: policies\n\n\
         dn: cn=default,ou=policies,{SUFFIX}\nobjectClass: applicationProcess\n\
         objectClass: pwdPolicy\ncn: default\npwdAttribute: userPassword\npwdLockout: TRUE\n\n"
    );
    for person in people {
        let _ = write!(
            out,
            "dn: uid={uid},{PEOPLE}\nobjectClass: inetOrgPerson\nuid: {uid}\ncn: {uid} of Acme\n\
             sn: {uid}\nmail: {email}\nuserPassword: {password}\n",
            uid = person.uid,
            email = person.email,
            password = person.password,
        );
        if person.member {
            out.push_str("employeeType: charter\n");
        }
        if person.locked {
            out.push_str("pwdAccountLockedTime: 000001010000Z\n");
        }
        out.push('\n');
    }
    out
}

/// A CA and a certificate it signs for 127.0.0.1, written where slapd reads them; the CA's PEM.
fn write_tls(dir: &Path) -> String {
    let (ca_key, ca) = crate::tls::authority("Directory test CA");
    let (key, cert) = crate::tls::issued(&ca_key, &ca, "127.0.0.1", crate::tls::Usage::Server);
    std::fs::write(dir.join("server.key"), key).unwrap();
    std::fs::write(dir.join("server.pem"), cert).unwrap();
    String::from_utf8(ca.to_pem().unwrap()).unwrap()
}
