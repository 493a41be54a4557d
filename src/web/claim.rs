//! The claim page of a wallet offer: the QR code a learner scans with their wallet, the same
//! offer as a link (for a wallet on this device), and whether a PIN is needed.

use maud::html;

use super::{layout, Head};
use crate::service::ClaimView;

pub fn claim_page(claim: &ClaimView) -> String {
    let head = Head {
        title: format!("Claim your badge: {}", claim.badge_name),
        description: Some(format!("{} offers you the badge {}", claim.issuer_name, claim.badge_name)),
        noindex: true,
        ..Head::default()
    };
    let body = html! {
        p.kicker { "Badge offer" }
        h1 { (claim.badge_name) }
        p.issuer-line { "Offered by " strong { (claim.issuer_name) } }
        @if claim.open {
            section.claim {
                h2 { "Add it to your wallet" }
                p { "Scan this code with an OpenID4VCI wallet. The badge is signed for your wallet's key when it arrives, and the offer then works no more." }
                img.qr src=(claim.qr_svg_path) width="256" height="256" alt="QR code of the badge offer";
                p { a href=(claim.offer_uri) { "Open the offer in a wallet on this device" } }
                @if claim.tx_code {
                    p.small { "Your wallet will ask for a 6-digit PIN: the issuer sends it to you separately." }
                }
                p.small { "This offer expires " (claim.expires_at) "." }
            }
        } @else {
            section.state.state-expired {
                h2 { "This offer can no longer be claimed" }
                p { "It has been redeemed, has expired, or is locked. Ask the issuer for a new offer." }
            }
        }
    };
    layout(head, body)
}
