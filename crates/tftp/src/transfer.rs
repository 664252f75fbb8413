//! One read transfer as a state machine (RFC 1350, 2347, 2348, 2349, 7440): what to send
//! now, and what an ACK or a timeout changes. Pure: the driver does the IO and the clock.

use bytes::Bytes;

use crate::packet::{self, Options, DEFAULT_BLKSIZE};

/// What the server grants of the options a client asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Grant {
    pub block_size: u16,
    pub window: u16,
    /// The options to acknowledge; none means no OACK, data starts at block 1.
    pub acknowledged: Options,
}

/// RFC 2347: grant the options asked for, bounded by the server's limits; the client's
/// `timeout` is never granted (the server keeps its own, so a slot's life stays bounded).
pub fn negotiate(asked: &Options, len: u64, max_block_size: u16, max_window: u16) -> Grant {
    let blksize = asked.blksize.map(|b| b.min(max_block_size.max(8)));
    let windowsize = asked.windowsize.map(|w| w.min(max_window.max(1)));
    let tsize = asked.tsize.map(|_| len);
    Grant {
        block_size: blksize.unwrap_or(DEFAULT_BLKSIZE),
        window: windowsize.unwrap_or(1),
        acknowledged: Options {
            blksize,
            tsize,
            windowsize,
        },
    }
}

/// What an ACK did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Acked {
    /// A duplicate or stale ACK: nothing to send (resending on it is the Sorcerer's
    /// Apprentice bug, RFC 1123 4.2.3.1).
    Ignored,
    /// The window moved: send the next one.
    Advanced,
    /// The last block is acknowledged.
    Done,
}

pub struct Transfer {
    data: Bytes,
    block_size: usize,
    window: u64,
    /// OACK still to be acknowledged (by ACK 0).
    option_ack: Option<Vec<u8>>,
    /// First unacknowledged block, counted from 1 without wrapping.
    next: u64,
    /// Blocks in the transfer: the last one is shorter than a block, possibly empty.
    blocks: u64,
    retries_left: u32,
    max_retries: u32,
}

impl Transfer {
    pub fn new(data: Bytes, grant: &Grant, max_retries: u32) -> Transfer {
        let block_size = usize::from(grant.block_size.max(1));
        let blocks = data.len() as u64 / block_size as u64 + 1;
        let option_ack = (grant.acknowledged != Options::default())
            .then(|| packet::option_ack(&grant.acknowledged));
        Transfer {
            data,
            block_size,
            window: u64::from(grant.window.max(1)),
            option_ack,
            next: 1,
            blocks,
            retries_left: max_retries,
            max_retries,
        }
    }

    /// The OACK to send now, while it is not acknowledged; then the DATA of [`Self::window`].
    pub fn option_ack(&self) -> Option<&[u8]> {
        self.option_ack.as_deref()
    }

    /// The blocks to send now (empty while an OACK is pending).
    pub fn window(&self) -> std::ops::Range<u64> {
        if self.option_ack.is_some() {
            return self.next..self.next;
        }
        self.next..(self.next + self.window).min(self.blocks + 1)
    }

    /// DATA for `block` (from [`Self::window`]) into `out`.
    pub fn write_block(&self, block: u64, out: &mut Vec<u8>) {
        let start = (block.saturating_sub(1) as usize).saturating_mul(self.block_size);
        let end = start.saturating_add(self.block_size).min(self.data.len());
        // Block numbers roll over to 0 after 65535, as tftpd-hpa and curl do.
        packet::write_data(out, block as u16, &self.data[start.min(end)..end]);
    }

    pub fn on_ack(&mut self, wire_block: u16) -> Acked {
        if self.option_ack.is_some() {
            if wire_block != 0 {
                return Acked::Ignored;
            }
            self.option_ack = None;
            self.retries_left = self.max_retries;
            return Acked::Advanced;
        }
        // Which block of the window in flight the client acknowledges, if any.
        let in_flight = (self.next + self.window - 1).min(self.blocks) - self.next + 1;
        let offset = u64::from(wire_block.wrapping_sub(self.next as u16));
        if offset >= in_flight {
            return Acked::Ignored;
        }
        self.next += offset + 1;
        self.retries_left = self.max_retries;
        if self.next > self.blocks {
            Acked::Done
        } else {
            Acked::Advanced
        }
    }

    /// No ACK in time: true to resend the window, false when the retries are spent.
    pub fn on_timeout(&mut self) -> bool {
        match self.retries_left.checked_sub(1) {
            Some(left) => {
                self.retries_left = left;
                true
            }
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packet::{parse, Packet};

    fn window(t: &Transfer) -> Vec<(u16, Vec<u8>)> {
        if let Some(oack) = t.option_ack() {
            assert_eq!(parse(oack), Ok(Packet::OptionAck));
            return vec![(u16::MAX, oack.to_vec())];
        }
        let mut out = Vec::new();
        t.window()
            .map(|b| {
                t.write_block(b, &mut out);
                match parse(&out).unwrap() {
                    Packet::Data { block, data } => (block, data.to_vec()),
                    other => panic!("{other:?}"),
                }
            })
            .collect()
    }

    fn plain(data: &[u8], block_size: u16, window: u16) -> Transfer {
        let grant = Grant {
            block_size,
            window,
            acknowledged: Options::default(),
        };
        Transfer::new(Bytes::copy_from_slice(data), &grant, 2)
    }

    #[test]
    fn negotiation_grants_within_limits_and_reports_the_length() {
        let asked = Options {
            blksize: Some(65464),
            tsize: Some(0),
            windowsize: Some(64),
        };
        let g = negotiate(&asked, 1234, 1428, 16);
        assert_eq!((g.block_size, g.window), (1428, 16));
        assert_eq!(g.acknowledged.tsize, Some(1234));
        assert_eq!(g.acknowledged.blksize, Some(1428));
        let none = negotiate(&Options::default(), 1234, 1428, 16);
        assert_eq!((none.block_size, none.window), (512, 1));
        assert_eq!(none.acknowledged, Options::default());
    }

    #[test]
    fn lock_step_sends_a_short_final_block_and_ignores_duplicates() {
        let mut t = plain(b"abcdefghij", 4, 1);
        assert_eq!(window(&t), vec![(1, b"abcd".to_vec())]);
        assert_eq!(t.on_ack(0), Acked::Ignored);
        assert_eq!(t.on_ack(1), Acked::Advanced);
        assert_eq!(t.on_ack(1), Acked::Ignored, "duplicate ACK");
        assert_eq!(window(&t), vec![(2, b"efgh".to_vec())]);
        assert_eq!(t.on_ack(2), Acked::Advanced);
        assert_eq!(window(&t), vec![(3, b"ij".to_vec())]);
        assert_eq!(t.on_ack(3), Acked::Done);
    }

    #[test]
    fn an_exact_multiple_ends_with_an_empty_block() {
        let mut t = plain(b"abcd", 4, 1);
        assert_eq!(t.on_ack(1), Acked::Advanced);
        assert_eq!(window(&t), vec![(2, Vec::new())]);
        assert_eq!(t.on_ack(2), Acked::Done);
        let mut empty = plain(b"", 512, 1);
        assert_eq!(window(&empty), vec![(1, Vec::new())]);
        assert_eq!(empty.on_ack(1), Acked::Done);
    }

    #[test]
    fn windows_resume_after_the_last_block_acknowledged() {
        let mut t = plain(b"aabbccddeef", 2, 4);
        assert_eq!(
            window(&t).iter().map(|b| b.0).collect::<Vec<_>>(),
            [1, 2, 3, 4]
        );
        // Block 3 lost: the client acknowledges 2; the next window starts at 3.
        assert_eq!(t.on_ack(2), Acked::Advanced);
        assert_eq!(
            window(&t).iter().map(|b| b.0).collect::<Vec<_>>(),
            [3, 4, 5, 6]
        );
        assert_eq!(t.on_ack(7), Acked::Ignored, "beyond the window");
        assert_eq!(t.on_ack(6), Acked::Done);
    }

    #[test]
    fn an_option_ack_waits_for_ack_zero() {
        let grant = negotiate(
            &Options {
                blksize: Some(8),
                tsize: Some(0),
                windowsize: None,
            },
            20,
            512,
            16,
        );
        let mut t = Transfer::new(Bytes::from_static(&[7; 20]), &grant, 2);
        assert_eq!(window(&t)[0].0, u16::MAX, "OACK first");
        assert_eq!(t.on_ack(1), Acked::Ignored);
        assert_eq!(t.on_ack(0), Acked::Advanced);
        assert_eq!(window(&t), vec![(1, vec![7; 8])]);
    }

    #[test]
    fn block_numbers_roll_over_to_zero() {
        let data = vec![1u8; 65_537];
        let mut t = plain(&data, 1, 1);
        for block in 1..=65_535u32 {
            assert_eq!(t.on_ack(block as u16), Acked::Advanced);
        }
        assert_eq!(window(&t), vec![(0, vec![1])]);
        assert_eq!(t.on_ack(0), Acked::Advanced);
        assert_eq!(window(&t), vec![(1, vec![1])]);
        assert_eq!(t.on_ack(1), Acked::Advanced);
        assert_eq!(window(&t), vec![(2, Vec::new())]);
        assert_eq!(t.on_ack(2), Acked::Done);
    }

    #[test]
    fn retries_are_bounded_and_reset_by_progress() {
        let mut t = plain(b"abcdefgh", 4, 1);
        assert!(t.on_timeout());
        assert!(t.on_timeout());
        assert_eq!(t.on_ack(1), Acked::Advanced);
        assert!(t.on_timeout());
        assert!(t.on_timeout());
        assert!(!t.on_timeout(), "third timeout in a row with max_retries 2");
    }
}
