//! Snapshots of what a community page would show.

use kaitiaki_protocol::statement::ReportKind;

use crate::fixture::*;

#[test]
fn a_decided_request_as_the_node_serves_it() {
    let mut s = Setting::with_notice(7);
    let r = s.request(365);
    let whanau = s.c.whanau.clone();
    let researcher = s.c.researcher.clone();
    let q = s.w.ok(
        &whanau,
        AGENCY,
        question(r, "Will the findings come back to us?"),
    );
    s.w.ok(
        &researcher,
        AGENCY,
        answer(q, "Yes, at a hui at the marae."),
    );
    s.w.days(7);
    s.approve_with_reports(r);
    s.w.days(200);
    s.w.ok(&researcher, AGENCY, report(r, ReportKind::Periodic));
    let view = s.w.view(&r);
    insta::assert_json_snapshot!(view);
}
