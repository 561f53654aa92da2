//! A minimal HTTP/1.1 keep-alive client: one connection sends a request, reads one response
//! (`Content-Length` framed, as hyper frames every gateway answer), and is reused. Written by
//! hand so the load client spends as little of the shared CPUs as possible.

use std::net::SocketAddr;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// One keep-alive connection to the gateway.
pub struct Connection {
    stream: TcpStream,
    buffer: Vec<u8>,
}

/// The part of a response the benchmark looks at.
pub struct Response {
    pub status: u16,
    pub body: Vec<u8>,
}

impl Connection {
    pub async fn open(addr: SocketAddr) -> std::io::Result<Connection> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        Ok(Connection { stream, buffer: Vec::with_capacity(4096) })
    }

    /// Sends one complete request (head and body) and reads its response.
    pub async fn round_trip(&mut self, request: &[u8]) -> std::io::Result<Response> {
        self.stream.write_all(request).await?;
        loop {
            if let Some(head_end) = find(&self.buffer, b"\r\n\r\n") {
                let (status, length) = parse_head(&self.buffer[..head_end])?;
                let total = head_end + 4 + length;
                while self.buffer.len() < total {
                    self.fill().await?;
                }
                let body = self.buffer[head_end + 4..total].to_vec();
                self.buffer.drain(..total);
                return Ok(Response { status, body });
            }
            self.fill().await?;
        }
    }

    async fn fill(&mut self) -> std::io::Result<()> {
        if self.stream.read_buf(&mut self.buffer).await? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        Ok(())
    }
}

fn invalid(what: &str) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_owned())
}

fn parse_head(head: &[u8]) -> std::io::Result<(u16, usize)> {
    let text = std::str::from_utf8(head).map_err(|_| invalid("response head is not UTF-8"))?;
    let mut lines = text.split("\r\n");
    let status = lines
        .next()
        .and_then(|line| line.split(' ').nth(1))
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| invalid("no status line"))?;
    let mut length = None;
    for line in lines {
        let Some((name, value)) = line.split_once(':') else { continue };
        if name.eq_ignore_ascii_case("content-length") {
            length = value.trim().parse().ok();
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            return Err(invalid("chunked responses are not expected from the gateway"));
        }
    }
    Ok((status, length.ok_or_else(|| invalid("no Content-Length"))?))
}

/// The first position of `needle` in `haystack`.
pub fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|window| window == needle)
}

/// A complete form POST to `/gateway.do`.
pub fn post(body: &[u8]) -> Vec<u8> {
    let mut request = format!(
        "POST /gateway.do HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded;charset=utf-8\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    request.extend_from_slice(body);
    request
}
