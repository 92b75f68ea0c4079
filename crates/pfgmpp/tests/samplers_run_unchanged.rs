//! The empirical PFGM++ field is a `Denoiser` at σ = r/√D, so EDM's Heun sampler runs on it
//! unchanged from the PFGM++ prior at r_max = σ_max√D (thesis Alg. 14) and ends on the data.

use exact_denoisers::PointSet;
use pfgmpp::{sample_prior, PfgmppPointSet};
use samplers::{grid::edm_default, heun::sample_heun, Particles};
use seeding::Stream;

#[test]
fn heun_from_the_pfgmpp_prior_lands_on_the_points() {
    let dim = 4;
    let pts: Vec<f64> = (0..8 * dim).map(|i| ((i * 7919 % 23) as f64 / 11.0 - 1.0) * 3.0).collect();
    let data = PointSet::new(dim, pts);
    for d in [1.0, 128.0, 3.0e6] {
        let field = PfgmppPointSet::new(data.clone(), d);
        let root = Stream::new(5).named("pfgmpp-heun");
        let x: Vec<f64> = (0..32)
            .flat_map(|i| sample_prior(&mut root.named("prior").child(i).rng(), dim, d, 80.0))
            .collect();
        let mut p = Particles::from_states(dim, x, root.named("sampler"));
        sample_heun(&field, &mut p, &edm_default(18)).unwrap();
        assert_eq!(p.nfe, 35);
        for row in p.x.chunks(dim) {
            let nearest = (0..data.len())
                .map(|k| exact_denoisers::squared_distance(row, data.point(k)))
                .fold(f64::INFINITY, f64::min);
            assert!(nearest < 1e-6, "D = {d}: a sample ends {nearest:e} from the data");
        }
    }
}
