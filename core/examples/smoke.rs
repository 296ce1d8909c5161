use framelock_core::testing::HashSim;
use framelock_core::*;
fn main() -> Result<(), Error> {
    // two peers, rollback, inputs delivered with 3 frames delay
    let mk = |local| SessionBuilder::new(2).local_slot(local).max_input_size(4).mode(Mode::Rollback { max_prediction: 8 }).build();
    let mut a = Driver::new(mk(0)?, HashSim::new(16));
    let mut b = Driver::new(mk(1)?, HashSim::new(16));
    let mut sent: Vec<(usize, u32, [u8; 4])> = vec![];
    for t in 0..1000u32 {
        let ia = [(t / 7) as u8, 1, 2, 3];
        let ib = [(t / 5) as u8, 9, 9, 9];
        let fa = a.session_mut().add_local_input(0, &ia)?.unwrap();
        let fb = b.session_mut().add_local_input(1, &ib)?.unwrap();
        sent.push((0, fa, ia));
        sent.push((1, fb, ib));
        // deliver those older than 3 ticks
        let deliver: Vec<_> = sent.iter().filter(|(_, f, _)| f + 3 <= t).cloned().collect();
        sent.retain(|(_, f, _)| f + 3 > t);
        for (s, f, i) in deliver {
            if s == 0 { b.session_mut().add_remote_input(0, f, &i)?; } else { a.session_mut().add_remote_input(1, f, &i)?; }
        }
        a.advance()?;
        b.advance()?;
    }
    let sa = a.session_mut().stats();
    println!("a: frame {} conf {} cs_until {} {:?}", a.session().current_frame(), a.session().confirmed_until(), a.session().checksummed_until(), sa);
    let f = a.session().checksummed_until() - 1;
    println!("checksums at {f}: {:?} {:?}", a.session().checksum(f), b.session().checksum(f));
    for f in 0..a.session().checksummed_until().min(b.session().checksummed_until()) {
        if let (Some(x), Some(y)) = (a.session().checksum(f), b.session().checksum(f)) { assert_eq!(x, y, "frame {f}"); }
    }
    Ok(())
}
