//! `depthscale fetch`: downloads MNIST, Fashion-MNIST or CIFAR-10 from their canonical locations and
//! verifies the MD5 checksums that torchvision publishes for them.

use std::fs::File;
use std::io::{BufReader, Read, Write};
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use depthscale::train::data::DatasetKind;
use md5::{Digest, Md5};

/// The MNIST mirror used by torchvision.
const MNIST_URL: &str = "https://ossci-datasets.s3.amazonaws.com/mnist/";
/// The Fashion-MNIST bucket of Zalando Research.
const FASHION_URL: &str = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/";
/// Alex Krizhevsky's page at the University of Toronto.
const CIFAR_URL: &str = "https://www.cs.toronto.edu/~kriz/";

/// MNIST files and their MD5 checksums.
const MNIST: [(&str, &str); 4] = [
    (
        "train-images-idx3-ubyte.gz",
        "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    ),
    (
        "train-labels-idx1-ubyte.gz",
        "d53e105ee54ea40749a09fcbcd1e9432",
    ),
    (
        "t10k-images-idx3-ubyte.gz",
        "9fb629c4189551a2d022fa330f9573f3",
    ),
    (
        "t10k-labels-idx1-ubyte.gz",
        "ec29112dd5afa0611ce80d1b7f02629c",
    ),
];
/// Fashion-MNIST files and their MD5 checksums.
const FASHION: [(&str, &str); 4] = [
    (
        "train-images-idx3-ubyte.gz",
        "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
    ),
    (
        "train-labels-idx1-ubyte.gz",
        "25c81989df183df01b3e8a0aad5dffbe",
    ),
    (
        "t10k-images-idx3-ubyte.gz",
        "bef4ecab320f06d8554ea6380940ec79",
    ),
    (
        "t10k-labels-idx1-ubyte.gz",
        "bb300cfdad3c16e7a12a480ee83cd310",
    ),
];
/// The CIFAR-10 binary archive and its MD5 checksum.
const CIFAR: [(&str, &str); 1] = [("cifar-10-binary.tar.gz", "c32a1d4ab5d03f1284b67883e8d87530")];

/// One file to download.
struct Remote {
    /// File name inside the target directory.
    name: String,
    /// Where to download it from.
    url: String,
    /// Expected MD5, lowercase hex.
    md5: String,
}

/// Downloads `dataset` (`mnist`, `fashion-mnist` or `cifar10`) into `dir`, skipping files already there
/// with the right checksum. Files are written to `NAME.part`, checked, then renamed to `NAME`; the
/// result is loadable with `--data DIR`.
pub fn fetch(dataset: &str, dir: &Path) -> Result<()> {
    let kind: DatasetKind = dataset.parse()?;
    let config = ureq::Agent::config_builder()
        .timeout_connect(Some(Duration::from_secs(20)))
        .timeout_recv_body(Some(Duration::from_secs(60)))
        .build();
    let agent = ureq::Agent::new_with_config(config);
    fetch_files(&agent, &remote_files(kind), dir, &mut print_progress)
}

/// The files making up `kind`, with their URLs and checksums.
fn remote_files(kind: DatasetKind) -> Vec<Remote> {
    let (base, files): (&str, &[(&str, &str)]) = match kind {
        DatasetKind::Mnist => (MNIST_URL, &MNIST),
        DatasetKind::FashionMnist => (FASHION_URL, &FASHION),
        DatasetKind::Cifar10 => (CIFAR_URL, &CIFAR),
    };
    files
        .iter()
        .map(|&(name, md5)| Remote {
            name: name.to_string(),
            url: format!("{base}{name}"),
            md5: md5.to_string(),
        })
        .collect()
}

/// A progress callback: file name, bytes received, total bytes when announced, whether the file is
/// complete.
type ProgressFn<'a> = &'a mut dyn FnMut(&str, u64, Option<u64>, bool);

/// Prints a one-line progress indicator on stderr, rewritten in place.
fn print_progress(name: &str, done: u64, total: Option<u64>, finished: bool) {
    let mb = |b: u64| b as f64 / 1e6;
    match total {
        Some(t) if t > 0 => eprint!(
            "\r{name}: {:.1} / {:.1} MB ({:.0}%)",
            mb(done),
            mb(t),
            100.0 * done as f64 / t as f64
        ),
        _ => eprint!("\r{name}: {:.1} MB", mb(done)),
    }
    if finished {
        eprintln!();
    }
}

/// Downloads the missing or damaged `files` into `dir`.
fn fetch_files(
    agent: &ureq::Agent,
    files: &[Remote],
    dir: &Path,
    progress: ProgressFn,
) -> Result<()> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot create directory {}", dir.display()))?;
    for file in files {
        let dest = dir.join(&file.name);
        if dest.is_file() {
            let found = md5_file(&dest)?;
            if found == file.md5 {
                eprintln!("{}: present, checksum ok", dest.display());
                continue;
            }
            eprintln!(
                "{}: MD5 {found}, expected {}; downloading again",
                dest.display(),
                file.md5
            );
        }
        let part = dir.join(format!("{}.part", file.name));
        let found = match download(agent, &file.url, &part, &file.name, progress) {
            Ok(md5) => md5,
            Err(failure) => {
                let _ = std::fs::remove_file(&part);
                return Err(match failure {
                    Failure::Network(cause) => anyhow!(
                        "could not download {}: {cause}. Download the files by hand into {} \
                         (see README, 'Datasets') and pass --data {}",
                        file.url,
                        dir.display(),
                        dir.display()
                    ),
                    Failure::Local(e) => e,
                });
            }
        };
        if found != file.md5 {
            let _ = std::fs::remove_file(&part);
            bail!(
                "{} downloaded from {} has MD5 {found}, expected {} (damaged transfer or changed upstream \
                 file); removed it, try again",
                file.name,
                file.url,
                file.md5
            );
        }
        std::fs::rename(&part, &dest)
            .with_context(|| format!("cannot rename {} to {}", part.display(), dest.display()))?;
    }
    Ok(())
}

/// Why a download failed: the network (or server), or the local disk.
enum Failure {
    /// Connecting, an HTTP error status, or reading the body.
    Network(String),
    /// Creating or writing the `.part` file.
    Local(anyhow::Error),
}

/// Streams `url` into `part`, returning the MD5 of what was received.
fn download(
    agent: &ureq::Agent,
    url: &str,
    part: &Path,
    name: &str,
    progress: ProgressFn,
) -> std::result::Result<String, Failure> {
    let mut response = agent
        .get(url)
        .call()
        .map_err(|e| Failure::Network(e.to_string()))?;
    let total = response.body().content_length();
    let mut out = File::create(part)
        .with_context(|| format!("cannot create {}", part.display()))
        .map_err(Failure::Local)?;
    let mut reader = response.body_mut().as_reader();
    let mut hasher = Md5::new();
    let mut buf = vec![0u8; 1 << 16];
    let (mut done, mut shown) = (0u64, 0u64);
    progress(name, 0, total, false);
    loop {
        let n = reader
            .read(&mut buf)
            .map_err(|e| Failure::Network(e.to_string()))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        out.write_all(&buf[..n])
            .with_context(|| format!("cannot write {}", part.display()))
            .map_err(Failure::Local)?;
        done += n as u64;
        if done - shown >= 1 << 20 {
            progress(name, done, total, false);
            shown = done;
        }
    }
    out.sync_all()
        .with_context(|| format!("cannot write {}", part.display()))
        .map_err(Failure::Local)?;
    progress(name, done, total, true);
    Ok(hex(&hasher.finalize()))
}

/// The MD5 of a file on disk, lowercase hex.
fn md5_file(path: &Path) -> Result<String> {
    let file = File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut reader = BufReader::with_capacity(1 << 16, file);
    let mut hasher = Md5::new();
    std::io::copy(&mut reader, &mut hasher)
        .with_context(|| format!("cannot read {}", path.display()))?;
    Ok(hex(&hasher.finalize()))
}

/// Lowercase hexadecimal spelling of a digest.
fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use std::io::{BufRead, BufReader, Write};
    use std::net::TcpListener;

    use super::*;

    /// An agent that ignores proxy settings, for talking to the loopback test server.
    fn local_agent() -> ureq::Agent {
        let config = ureq::Agent::config_builder()
            .proxy(None)
            .timeout_global(Some(Duration::from_secs(10)))
            .build();
        ureq::Agent::new_with_config(config)
    }

    /// Serves `body` once over HTTP on the loopback interface and returns the URL.
    fn serve_once(body: Vec<u8>) -> (String, std::thread::JoinHandle<()>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/file.bin", listener.local_addr().unwrap());
        let handle = std::thread::spawn(move || {
            let (stream, _) = listener.accept().unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            while reader.read_line(&mut line).unwrap() > 0 && line != "\r\n" {
                line.clear();
            }
            let mut stream = stream;
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            stream.write_all(head.as_bytes()).unwrap();
            stream.write_all(&body).unwrap();
        });
        (url, handle)
    }

    fn remote(name: &str, url: &str, content: &[u8]) -> Remote {
        Remote {
            name: name.to_string(),
            url: url.to_string(),
            md5: hex(&Md5::digest(content)),
        }
    }

    #[test]
    fn md5_matches_the_rfc_1321_test_suite() {
        assert_eq!(hex(&Md5::digest(b"")), "d41d8cd98f00b204e9800998ecf8427e");
        assert_eq!(
            hex(&Md5::digest(b"abc")),
            "900150983cd24fb0d6963f7d28e17f72"
        );
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("msg");
        std::fs::write(&path, b"message digest").unwrap();
        assert_eq!(md5_file(&path).unwrap(), "f96b697d7cb7938d525a2f31aaf161d0");
    }

    #[test]
    fn unknown_dataset_is_refused_before_any_download() {
        let dir = tempfile::tempdir().unwrap();
        let err = fetch("svhn", dir.path()).unwrap_err().to_string();
        assert!(err.contains("unknown dataset `svhn`"), "{err}");
        assert!(err.contains("mnist, fashion-mnist or cifar10"), "{err}");
    }

    #[test]
    fn every_dataset_has_checksummed_https_or_http_urls() {
        for (kind, n) in [
            (DatasetKind::Mnist, 4),
            (DatasetKind::FashionMnist, 4),
            (DatasetKind::Cifar10, 1),
        ] {
            let files = remote_files(kind);
            assert_eq!(files.len(), n);
            for f in files {
                assert!(f.url.starts_with("http") && f.url.ends_with(&f.name));
                assert!(f.md5.len() == 32 && f.md5.bytes().all(|b| b.is_ascii_hexdigit()));
            }
        }
    }

    #[test]
    fn files_with_the_right_checksum_are_not_downloaded_again() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.gz"), b"payload").unwrap();
        // An unreachable URL: any download attempt would fail.
        let files = [remote("a.gz", "http://127.0.0.1:1/a.gz", b"payload")];
        fetch_files(&local_agent(), &files, dir.path(), &mut |_, _, _, _| {}).unwrap();
    }

    #[test]
    fn unreachable_network_gives_a_one_line_hint() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.gz"), b"stale").unwrap();
        let files = [remote("a.gz", "http://127.0.0.1:1/a.gz", b"payload")];
        let err =
            fetch_files(&local_agent(), &files, dir.path(), &mut |_, _, _, _| {}).unwrap_err();
        let text = format!("{err:#}");
        let d = dir.path().display();
        assert!(
            text.starts_with("could not download http://127.0.0.1:1/a.gz: "),
            "{text}"
        );
        assert!(
            text.ends_with(&format!(
                ". Download the files by hand into {d} (see README, 'Datasets') and pass --data {d}"
            )),
            "{text}"
        );
        assert!(!text.contains('\n'), "{text}");
        assert!(!dir.path().join("a.gz.part").exists());
    }

    #[test]
    fn downloads_are_verified_then_renamed() {
        let dir = tempfile::tempdir().unwrap();
        let body = (0..300_000u32)
            .map(|i| (i * 31 % 251) as u8)
            .collect::<Vec<u8>>();
        let (url, server) = serve_once(body.clone());
        let files = [remote("b.bin", &url, &body)];
        let mut calls = 0;
        fetch_files(&local_agent(), &files, dir.path(), &mut |_, _, _, _| {
            calls += 1
        })
        .unwrap();
        server.join().unwrap();
        assert!(calls >= 2);
        assert_eq!(std::fs::read(dir.path().join("b.bin")).unwrap(), body);
        assert!(!dir.path().join("b.bin.part").exists());

        let (url, server) = serve_once(b"not the expected bytes".to_vec());
        let files = [remote("c.bin", &url, &body)];
        let err =
            fetch_files(&local_agent(), &files, dir.path(), &mut |_, _, _, _| {}).unwrap_err();
        server.join().unwrap();
        let text = err.to_string();
        assert!(
            text.contains("has MD5") && text.contains(&files[0].md5),
            "{text}"
        );
        assert!(!dir.path().join("c.bin").exists());
        assert!(!dir.path().join("c.bin.part").exists());
    }
}
