//! The Orchestrator over real loopback gRPC, on SQLite and (when
//! HUIKUAN_TEST_PG is set) PostgreSQL.

use huikuan_orchestrator::pb::{self, orchestrator_client::OrchestratorClient};
use huikuan_orchestrator::{client, OrchestratorConfig};
use huikuan_store::testing::{self, TestDb};
use tonic::Code;

const TOKEN: &str = "test-token-0123456789";

async fn start(
    db: &TestDb,
) -> (
    String,
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<anyhow::Result<()>>,
) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let mut config = OrchestratorConfig::new(TOKEN);
    // Dispatch must not depend on the hour the test runs at: the window
    // itself is tested in the store with a fixed clock.
    config.policy.rules.window_start = chrono::NaiveTime::MIN;
    config.policy.rules.window_end =
        chrono::NaiveTime::from_hms_nano_opt(23, 59, 59, 999_999_999).unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let store = db.store.clone();
    let handle = tokio::spawn(huikuan_orchestrator::serve(
        store,
        config,
        listener,
        async {
            let _ = rx.await;
        },
    ));
    (endpoint, tx, handle)
}

/// The Beijing date `n` days from today, as reports write it.
fn days_ahead(n: i64) -> String {
    (chrono::Utc::now()
        .with_timezone(&chrono_tz::Asia::Shanghai)
        .date_naive()
        + chrono::Duration::days(n))
    .to_string()
}

fn row(id: &str, phone: &str, overdue: &str) -> pb::AccountRow {
    pb::AccountRow {
        account_id: id.into(),
        name: "张三".into(),
        phones: vec![phone.into()],
        province: "四川".into(),
        product: "消费贷".into(),
        principal: "5000".into(),
        overdue_amount: overdue.into(),
        due_date: "2026-10-01".into(),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orchestrator_api_end_to_end() {
    for db in testing::all().await {
        eprintln!("backend: {}", db.name);
        let (endpoint, stop, handle) = start(&db).await;

        // No token, wrong token: UNAUTHENTICATED.
        let channel = tonic::transport::Endpoint::from_shared(endpoint.clone())
            .unwrap()
            .connect()
            .await
            .unwrap();
        let mut anon = OrchestratorClient::new(channel);
        let e = anon
            .list_campaigns(pb::ListCampaignsRequest {})
            .await
            .unwrap_err();
        assert_eq!(e.code(), Code::Unauthenticated);
        let mut wrong = client::connect(&endpoint, "nope").await.unwrap();
        assert_eq!(
            wrong
                .list_campaigns(pb::ListCampaignsRequest {})
                .await
                .unwrap_err()
                .code(),
            Code::Unauthenticated
        );

        let mut c = client::connect(&endpoint, TOKEN).await.unwrap();
        // Validation names the field.
        let e = c
            .create_campaign(pb::CreateCampaignRequest {
                name: " ".into(),
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert_eq!(e.code(), Code::InvalidArgument);
        assert!(e.message().starts_with("name:"), "{}", e.message());
        let e = c
            .lease_calls(pb::LeaseCallsRequest {
                worker_id: "w".into(),
                max_calls: 0,
                lease_seconds: 0,
                agent_calls: false,
            })
            .await
            .unwrap_err();
        assert!(e.message().starts_with("max_calls:"), "{}", e.message());
        let e = c
            .lease_calls(pb::LeaseCallsRequest {
                worker_id: "w\u{1b}[31m\n".into(),
                max_calls: 1,
                lease_seconds: 0,
                agent_calls: false,
            })
            .await
            .unwrap_err();
        assert!(e.message().starts_with("worker_id:"), "{}", e.message());
        // A 15,000-character name comes back cut, not whole.
        let e = c
            .get_campaign(pb::GetCampaignRequest {
                campaign: "名".repeat(15_000),
            })
            .await
            .unwrap_err();
        assert_eq!(e.code(), Code::NotFound);
        assert!(e.message().chars().count() < 200, "{}", e.message());

        let mut events = c
            .watch_events(pb::WatchEventsRequest::default())
            .await
            .unwrap()
            .into_inner();

        // Streaming import: good rows kept, bad rows reported by number and field.
        let rows = vec![
            pb::ImportAccountsRequest {
                campaign: "grpc".into(),
                row: Some(row("G1", "13812345678", "1200.50")),
                ..Default::default()
            },
            pb::ImportAccountsRequest {
                campaign: String::new(),
                row: Some(row("G2", "123", "10")),
                ..Default::default()
            },
            pb::ImportAccountsRequest {
                campaign: String::new(),
                row: Some(row("G3", "13912345678", "1.234")),
                ..Default::default()
            },
            pb::ImportAccountsRequest {
                campaign: String::new(),
                row: Some(row("G4", "13712345678", "99")),
                ..Default::default()
            },
        ];
        let resp = c
            .import_accounts(tokio_stream::iter(rows))
            .await
            .unwrap()
            .into_inner();
        assert_eq!((resp.accepted, resp.rejected), (2, 2));
        let errs: Vec<(u64, &str)> = resp
            .errors
            .iter()
            .map(|e| (e.row, e.field.as_str()))
            .collect();
        assert_eq!(errs, vec![(2, "phones"), (3, "overdue_amount")]);

        let account = c
            .get_account(pb::GetAccountRequest {
                account_id: "G1".into(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(account.debts[0].overdue_amount, "1200.50");
        assert_eq!(account.contacts[0].phone, "+8613812345678");
        let page = c
            .list_accounts(pb::ListAccountsRequest {
                page_size: 1,
                campaign: "grpc".into(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(page.accounts.len(), 1);
        assert_eq!(page.accounts[0].account_id, "G1");
        let next = c
            .list_accounts(pb::ListAccountsRequest {
                page_size: 1,
                campaign: "grpc".into(),
                page_token: page.next_page_token.clone(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(next.accounts[0].account_id, "G4");
        // A token nobody handed out, and provinces as people write them.
        let e = c
            .list_accounts(pb::ListAccountsRequest {
                page_token: "G1".into(),
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert_eq!(e.code(), Code::InvalidArgument);
        assert!(e.message().starts_with("page_token:"), "{}", e.message());
        for province in ["Sichuan", "四川省", "四川"] {
            let found = c
                .list_accounts(pb::ListAccountsRequest {
                    province: province.into(),
                    ..Default::default()
                })
                .await
                .unwrap()
                .into_inner();
            assert_eq!(found.accounts.len(), 2, "{province}");
        }
        let e = c
            .list_accounts(pb::ListAccountsRequest {
                province: "火星".into(),
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert!(e.message().starts_with("province:"), "{}", e.message());
        assert_eq!(
            c.get_account(pb::GetAccountRequest {
                account_id: "G2".into()
            })
            .await
            .unwrap_err()
            .code(),
            Code::NotFound
        );

        // The campaign's caller id: checked, then carried by its leases.
        let e = c
            .set_campaign_caller_id(pb::SetCampaignCallerIdRequest {
                campaign: "grpc".into(),
                caller_id: "400-800".into(),
            })
            .await
            .unwrap_err();
        assert_eq!(e.code(), Code::InvalidArgument);
        assert!(e.message().starts_with("caller_id:"), "{}", e.message());
        let campaign = c
            .set_campaign_caller_id(pb::SetCampaignCallerIdRequest {
                campaign: "grpc".into(),
                caller_id: "4008001234".into(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(campaign.caller_id, "4008001234");

        // Nothing is dialled without an approved plan.
        let unplanned = c
            .lease_calls(pb::LeaseCallsRequest {
                worker_id: "w1".into(),
                max_calls: 10,
                lease_seconds: 60,
                agent_calls: false,
            })
            .await
            .unwrap()
            .into_inner();
        assert!(unplanned.leases.is_empty(), "{unplanned:?}");
        testing::release_queued(&db.store, &campaign.id, chrono::Utc::now()).await;

        // Lease, report, report again.
        let leases = c
            .lease_calls(pb::LeaseCallsRequest {
                worker_id: "w1".into(),
                max_calls: 10,
                lease_seconds: 60,
                agent_calls: false,
            })
            .await
            .unwrap()
            .into_inner()
            .leases;
        assert_eq!(leases.len(), 2);
        assert!(leases.iter().all(|l| l.caller_id == "4008001234"));
        assert_eq!(
            leases
                .iter()
                .find(|l| l.account_id == "G1")
                .unwrap()
                .dialect,
            "sichuanese"
        );
        let l = leases.iter().find(|l| l.account_id == "G1").unwrap();
        let report = pb::ReportOutcomeRequest {
            attempt_id: l.attempt_id.clone(),
            lease_token: l.lease_token,
            worker_id: "w1".into(),
            disposition: "promise_to_pay".into(),
            promise_date: days_ahead(3),
            promise_amount: "1200.50".into(),
            duration_ms: 42_000,
            ..Default::default()
        };
        let bad = pb::ReportOutcomeRequest {
            disposition: "promised".into(),
            ..report.clone()
        };
        assert!(c
            .report_outcome(bad)
            .await
            .unwrap_err()
            .message()
            .starts_with("disposition:"));
        assert!(
            !c.report_outcome(report.clone())
                .await
                .unwrap()
                .into_inner()
                .already_recorded
        );
        assert!(
            c.report_outcome(report.clone())
                .await
                .unwrap()
                .into_inner()
                .already_recorded
        );
        let account = c
            .get_account(pb::GetAccountRequest {
                account_id: "G1".into(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            (
                account.promises[0].date.as_str(),
                account.promises[0].amount.as_str()
            ),
            (days_ahead(3).as_str(), "1200.50")
        );

        // Events arrived for what happened, in order.
        let mut kinds = Vec::new();
        while kinds.len() < 4 {
            let ev = tokio::time::timeout(std::time::Duration::from_secs(10), events.message())
                .await
                .unwrap()
                .unwrap()
                .unwrap();
            kinds.push(match ev.kind.unwrap() {
                pb::event::Kind::ImportFinished(_) => "import",
                pb::event::Kind::CallLeased(_) => "leased",
                pb::event::Kind::OutcomeReported(o) => {
                    assert_eq!(o.disposition, "promise_to_pay");
                    "outcome"
                }
                _ => "other",
            });
        }
        assert_eq!(kinds, vec!["import", "leased", "leased", "outcome"]);

        // A batch: the other lease, a bad report and a repeat of the first.
        let g2 = leases.iter().find(|l| l.account_id != "G1").unwrap();
        let busy = pb::ReportOutcomeRequest {
            attempt_id: g2.attempt_id.clone(),
            lease_token: g2.lease_token,
            worker_id: "w1".into(),
            disposition: "busy".into(),
            ..Default::default()
        };
        let no_worker = pb::ReportOutcomeRequest {
            worker_id: String::new(),
            ..busy.clone()
        };
        let results = c
            .report_outcomes(pb::ReportOutcomesRequest {
                reports: vec![no_worker, busy, report.clone()],
            })
            .await
            .unwrap()
            .into_inner()
            .results
            .into_iter()
            .map(|r| r.result)
            .collect::<Vec<_>>();
        use pb::report_outcome_result::Result as R;
        match &results[..] {
            [Some(R::Error(e)), Some(R::Recorded(ok)), Some(R::Recorded(again))] => {
                assert_eq!(e.code, Code::InvalidArgument as i32);
                assert!(
                    e.message.starts_with("reports[0].worker_id:"),
                    "{}",
                    e.message
                );
                assert!(!ok.already_recorded);
                assert!(again.already_recorded);
            }
            other => panic!("unexpected batch results {other:?}"),
        }
        assert_eq!(
            c.report_outcomes(pb::ReportOutcomesRequest { reports: vec![] })
                .await
                .unwrap_err()
                .code(),
            Code::InvalidArgument
        );

        let paused = c
            .pause_campaign(pb::CampaignRef {
                campaign: "grpc".into(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(paused.status, "paused");

        stop.send(()).unwrap();
        handle.await.unwrap().unwrap();
    }
}

/// Leases the campaign's calls for `worker`, by account id, once an
/// approved plan has released them.
async fn lease_all(
    c: &mut client::Client,
    store: &huikuan_store::Store,
    worker: &str,
) -> std::collections::HashMap<String, pb::CallLease> {
    for campaign in store.list_campaigns().await.unwrap() {
        testing::release_queued(store, &campaign.id, chrono::Utc::now()).await;
    }
    c.lease_calls(pb::LeaseCallsRequest {
        worker_id: worker.into(),
        max_calls: 50,
        lease_seconds: 60,
        agent_calls: false,
    })
    .await
    .unwrap()
    .into_inner()
    .leases
    .into_iter()
    .map(|l| (l.account_id.clone(), l))
    .collect()
}

/// What a worker reports is stored or refused with the field named, never
/// dropped: a second report that differs from the first is refused, a
/// promise or callback that cannot be is refused, and only the holder of
/// a lease, with its (unguessable, never echoed) token, may report on it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outcome_reports_are_stored_or_refused_never_dropped() {
    for db in testing::all().await {
        eprintln!("backend: {}", db.name);
        let (endpoint, stop, handle) = start(&db).await;
        let mut c = client::connect(&endpoint, TOKEN).await.unwrap();
        let rows: Vec<_> = ["R1", "R2", "R3", "R4"]
            .iter()
            .enumerate()
            .map(|(i, id)| pb::ImportAccountsRequest {
                campaign: if i == 0 {
                    "reports".into()
                } else {
                    String::new()
                },
                row: Some(row(id, &format!("1381234567{i}"), "19138.93")),
                ..Default::default()
            })
            .collect();
        c.import_accounts(tokio_stream::iter(rows)).await.unwrap();
        let leases = lease_all(&mut c, &db.store, "w1").await;
        assert_eq!(leases.len(), 4);
        let promise = |l: &pb::CallLease, date: String, amount: &str| pb::ReportOutcomeRequest {
            attempt_id: l.attempt_id.clone(),
            lease_token: l.lease_token,
            worker_id: "w1".into(),
            disposition: "promise_to_pay".into(),
            promise_date: date,
            promise_amount: amount.into(),
            note: "first".into(),
            duration_ms: 30_000,
            ..Default::default()
        };

        // Tokens are not small sequential numbers.
        assert!(
            leases.values().all(|l| l.lease_token > 1 << 20),
            "{:?}",
            leases.values().map(|l| l.lease_token).collect::<Vec<_>>()
        );

        // Impossible promises and callbacks: INVALID_ARGUMENT naming the field.
        let r1 = &leases["R1"];
        for (date, amount, field) in [
            (days_ahead(-1), "100", "promise_date"),
            (days_ahead(400), "100", "promise_date"),
            (days_ahead(61), "100", "promise_date"),
            (days_ahead(2), "0", "promise_amount"),
            (days_ahead(2), "99999999", "promise_amount"),
            (days_ahead(2), "19138.94", "promise_amount"),
        ] {
            let e = c
                .report_outcome(promise(r1, date.clone(), amount))
                .await
                .unwrap_err();
            assert_eq!(e.code(), Code::InvalidArgument, "{date} {amount}: {e:?}");
            assert!(
                e.message().starts_with(field),
                "{date} {amount}: {}",
                e.message()
            );
        }
        // Settling the whole account may promise more than is overdue, up
        // to the balance (principal 5000 + overdue 19138.93).
        let settle = pb::ReportOutcomeRequest {
            settles_balance: true,
            ..promise(r1, days_ahead(2), "24138.94")
        };
        let e = c.report_outcome(settle.clone()).await.unwrap_err();
        assert!(e.message().starts_with("promise_amount"), "{}", e.message());
        let past_callback = pb::ReportOutcomeRequest {
            attempt_id: leases["R2"].attempt_id.clone(),
            lease_token: leases["R2"].lease_token,
            worker_id: "w1".into(),
            disposition: "callback_requested".into(),
            callback_at: (chrono::Utc::now() - chrono::Duration::hours(2)).to_rfc3339(),
            ..Default::default()
        };
        let e = c.report_outcome(past_callback.clone()).await.unwrap_err();
        assert_eq!(e.code(), Code::InvalidArgument);
        assert!(e.message().starts_with("callback_at"), "{}", e.message());
        // A recording path that names a file elsewhere.
        let e = c
            .report_outcome(pb::ReportOutcomeRequest {
                recording_path: "../../../../etc/shadow".into(),
                ..promise(r1, days_ahead(2), "100")
            })
            .await
            .unwrap_err();
        assert_eq!(e.code(), Code::InvalidArgument);
        assert!(e.message().starts_with("recording_path"), "{}", e.message());
        // Nothing was stored by the refusals: no promise, no follow-up.
        let account = c
            .get_account(pb::GetAccountRequest {
                account_id: "R2".into(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(account.attempts.len(), 1, "{:?}", account.attempts);
        assert!(c
            .report_outcome(pb::ReportOutcomeRequest {
                promise_amount: "24138.93".into(),
                ..settle
            })
            .await
            .is_ok());

        // The first report stands; an identical retry is acknowledged, a
        // different one refused with the field that differs.
        let r3 = &leases["R3"];
        let first = promise(r3, days_ahead(5), "5000");
        assert!(
            !c.report_outcome(first.clone())
                .await
                .unwrap()
                .into_inner()
                .already_recorded
        );
        assert!(
            c.report_outcome(first.clone())
                .await
                .unwrap()
                .into_inner()
                .already_recorded
        );
        for (changed, field) in [
            (
                pb::ReportOutcomeRequest {
                    promise_amount: "5000.01".into(),
                    ..first.clone()
                },
                "promise_amount",
            ),
            (
                pb::ReportOutcomeRequest {
                    promise_date: days_ahead(6),
                    ..first.clone()
                },
                "promise_date",
            ),
            (
                pb::ReportOutcomeRequest {
                    note: "second".into(),
                    ..first.clone()
                },
                "note",
            ),
        ] {
            let e = c.report_outcome(changed.clone()).await.unwrap_err();
            assert_eq!(e.code(), Code::FailedPrecondition, "{field}: {e:?}");
            assert!(e.message().contains(field), "{field}: {}", e.message());
            // The same inside a batch.
            let results = c
                .report_outcomes(pb::ReportOutcomesRequest {
                    reports: vec![changed],
                })
                .await
                .unwrap()
                .into_inner()
                .results;
            match &results[0].result {
                Some(pb::report_outcome_result::Result::Error(e)) => {
                    assert_eq!(e.code, Code::FailedPrecondition as i32);
                    assert!(e.message.contains(field), "{}", e.message);
                }
                other => panic!("{field}: {other:?}"),
            }
        }
        let account = c
            .get_account(pb::GetAccountRequest {
                account_id: "R3".into(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(account.promises.len(), 1);
        assert_eq!(
            (
                account.promises[0].date.as_str(),
                account.promises[0].amount.as_str()
            ),
            (days_ahead(5).as_str(), "5000.00")
        );

        // A forged token is refused without being told the right one; a
        // report from another worker than the lease holder's is refused.
        let r4 = &leases["R4"];
        let busy = pb::ReportOutcomeRequest {
            attempt_id: r4.attempt_id.clone(),
            lease_token: r4.lease_token ^ 1,
            worker_id: "w1".into(),
            disposition: "busy".into(),
            ..Default::default()
        };
        let e = c.report_outcome(busy.clone()).await.unwrap_err();
        assert_eq!(e.code(), Code::FailedPrecondition);
        assert!(e.message().starts_with("lease_token"), "{}", e.message());
        assert!(
            !e.message().contains(&r4.lease_token.to_string()),
            "the valid token was echoed: {}",
            e.message()
        );
        let e = c
            .report_outcome(pb::ReportOutcomeRequest {
                lease_token: r4.lease_token,
                worker_id: "w2".into(),
                ..busy.clone()
            })
            .await
            .unwrap_err();
        assert_eq!(e.code(), Code::FailedPrecondition);
        assert!(e.message().starts_with("worker_id"), "{}", e.message());
        assert!(c
            .report_outcome(pb::ReportOutcomeRequest {
                lease_token: r4.lease_token,
                ..busy
            })
            .await
            .is_ok());

        stop.send(()).unwrap();
        handle.await.unwrap().unwrap();
    }
}

/// A stream that breaks off keeps the whole batches written before it,
/// and its run is on record as cancelled with exactly those rows; a later
/// message naming another campaign is that row's error, not ignored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_import_stream_keeps_whole_batches_and_says_so() {
    for db in testing::all().await {
        eprintln!("backend: {}", db.name);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let mut config = OrchestratorConfig::new(TOKEN);
        config.import_batch_rows = 7;
        let (stop, rx) = tokio::sync::oneshot::channel::<()>();
        let handle = tokio::spawn(huikuan_orchestrator::serve(
            db.store.clone(),
            config,
            listener,
            async {
                let _ = rx.await;
            },
        ));
        let mut c = client::connect(&endpoint, TOKEN).await.unwrap();
        let msg = |i: usize, campaign: &str| pb::ImportAccountsRequest {
            campaign: campaign.into(),
            row: Some(row(&format!("S{i:02}"), &format!("138123456{i:02}"), "100")),
            ..Default::default()
        };

        // A later message naming another campaign.
        let rows = vec![
            msg(0, "stream"),
            msg(1, ""),
            msg(2, "elsewhere"),
            msg(3, "stream"),
        ];
        let resp = c
            .import_accounts(tokio_stream::iter(rows))
            .await
            .unwrap()
            .into_inner();
        assert_eq!((resp.accepted, resp.rejected), (3, 1));
        assert_eq!(resp.errors[0].row, 3);
        assert_eq!(resp.errors[0].field, "campaign");

        // 20 rows, then the client's connection is cut (a client killed,
        // a network gone): 2 batches of 7 are kept. The client talks
        // through a relay the test can cut.
        let relay = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let relay_endpoint = format!("http://{}", relay.local_addr().unwrap());
        let server_addr = endpoint.trim_start_matches("http://").to_string();
        let cut = tokio::spawn(async move {
            let (mut inbound, _) = relay.accept().await.unwrap();
            let mut outbound = tokio::net::TcpStream::connect(server_addr).await.unwrap();
            let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
        });
        let mut relayed = client::connect(&relay_endpoint, TOKEN).await.unwrap();
        let (tx, rx) = tokio::sync::mpsc::channel(32);
        for i in 10..30 {
            tx.send(msg(i, if i == 10 { "broken" } else { "" }))
                .await
                .unwrap();
        }
        let call = tokio::spawn(async move {
            relayed
                .import_accounts(tokio_stream::wrappers::ReceiverStream::new(rx))
                .await
        });
        let campaign = loop {
            if let Ok(found) = db.store.find_campaign("broken").await {
                break found;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        };
        // Wait until the server has written both whole batches.
        loop {
            let runs = db
                .store
                .list_import_runs(Some(&campaign.id), 1)
                .await
                .unwrap();
            if runs.first().is_some_and(|r| r.accepted == 14) {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        cut.abort();
        let _ = cut.await;
        let answer = call.await.unwrap();
        assert!(answer.is_err(), "the client saw its call fail");
        drop(tx);
        let run = loop {
            let runs = db
                .store
                .list_import_runs(Some(&campaign.id), 1)
                .await
                .unwrap();
            if runs[0].state.as_str() != "running" {
                break runs[0].clone();
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        };
        assert_eq!((run.state.as_str(), run.accepted), ("cancelled", 14));
        let page = c
            .list_accounts(pb::ListAccountsRequest {
                campaign: "broken".into(),
                page_size: 100,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(page.accounts.len(), 14, "whole batches only");

        stop.send(()).unwrap();
        handle.await.unwrap().unwrap();
    }
}

/// A certificate authority made for the test, a server certificate for
/// 127.0.0.1 and a client certificate, all signed by it (PEM).
struct TestPki {
    ca: String,
    server: (String, String),
    client: (String, String),
}

fn test_pki() -> TestPki {
    use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    let leaf = |names: Vec<String>| {
        let key = KeyPair::generate().unwrap();
        let cert = CertificateParams::new(names)
            .unwrap()
            .signed_by(&key, &ca)
            .unwrap();
        (cert.pem(), key.serialize_pem())
    };
    TestPki {
        server: leaf(vec!["127.0.0.1".into(), "orchestrator.test".into()]),
        client: leaf(vec!["dialer-1.test".into()]),
        ca: ca.pem(),
    }
}

/// gRPC over TLS with client certificates: a client that trusts the CA and
/// shows its certificate is served; one without a certificate, one that
/// does not trust the server and a plaintext one are not. A server refuses
/// to start on a non-loopback address without TLS, and with a short token.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_with_client_certificates_between_hosts() {
    use huikuan_orchestrator::tls::{ClientTls, ServerTls};
    let db = testing::sqlite().await;
    let pki = test_pki();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let mut config = OrchestratorConfig::new(TOKEN);
    config.tls = Some(ServerTls::from_pem(
        pki.server.0.clone().into_bytes(),
        pki.server.1.clone().into_bytes(),
        Some(pki.ca.clone().into_bytes()),
    ));
    let (stop, rx) = tokio::sync::oneshot::channel::<()>();
    let handle = tokio::spawn(huikuan_orchestrator::serve(
        db.store.clone(),
        config,
        listener,
        async {
            let _ = rx.await;
        },
    ));
    let https = format!("https://127.0.0.1:{port}");
    let trusted = ClientTls {
        ca_pem: Some(pki.ca.clone().into_bytes()),
        identity: Some((
            pki.client.0.clone().into_bytes(),
            pki.client.1.clone().into_bytes(),
        )),
        domain: None,
    };
    let mut c = client::connect_with(&https, TOKEN, Some(&trusted))
        .await
        .unwrap();
    c.create_campaign(pb::CreateCampaignRequest {
        name: "over-tls".into(),
        ..Default::default()
    })
    .await
    .unwrap();
    // The server's name may also be checked against another name it carries.
    let by_name = ClientTls {
        domain: Some("orchestrator.test".into()),
        ..trusted.clone()
    };
    let mut named = client::connect_with(&https, TOKEN, Some(&by_name))
        .await
        .unwrap();
    assert!(named
        .list_campaigns(pb::ListCampaignsRequest {})
        .await
        .is_ok());

    async fn refused(endpoint: &str, tls: Option<&ClientTls>) -> bool {
        match client::connect_with(endpoint, TOKEN, tls).await {
            Err(_) => true,
            Ok(mut c) => c.list_campaigns(pb::ListCampaignsRequest {}).await.is_err(),
        }
    }
    let no_certificate = ClientTls {
        identity: None,
        ..trusted.clone()
    };
    assert!(
        refused(&https, Some(&no_certificate)).await,
        "no client certificate"
    );
    let other_pki = test_pki();
    let wrong_ca = ClientTls {
        ca_pem: Some(other_pki.ca.into_bytes()),
        ..trusted.clone()
    };
    assert!(refused(&https, Some(&wrong_ca)).await, "untrusted server");
    let impostor = ClientTls {
        identity: Some((
            other_pki.client.0.into_bytes(),
            other_pki.client.1.into_bytes(),
        )),
        ..trusted.clone()
    };
    assert!(
        refused(&https, Some(&impostor)).await,
        "client cert of another CA"
    );
    assert!(
        refused(&format!("http://127.0.0.1:{port}"), None).await,
        "plaintext"
    );
    stop.send(()).unwrap();
    handle.await.unwrap().unwrap();

    // No TLS beyond loopback, no short token.
    let open = tokio::net::TcpListener::bind("0.0.0.0:0").await.unwrap();
    let e = huikuan_orchestrator::serve(
        db.store.clone(),
        OrchestratorConfig::new(TOKEN),
        open,
        async {},
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(e.contains("server.listen") && e.contains("TLS"), "{e}");
    let local = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let e = huikuan_orchestrator::serve(
        db.store.clone(),
        OrchestratorConfig::new("short-token"),
        local,
        async {},
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(e.contains("at least 16 characters"), "{e}");
}

/// Reads that find their gate full are refused at once, and dispatch,
/// which has a gate of its own, goes on meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_reads_is_shed_and_never_holds_up_dispatch() {
    use huikuan_orchestrator::events::EventBus;
    use huikuan_orchestrator::gate::{GateLimits, Limits};
    use huikuan_orchestrator::pb::orchestrator_server::Orchestrator;
    use huikuan_orchestrator::service::OrchestratorService;
    for db in testing::all().await {
        let mut config = OrchestratorConfig::new(TOKEN);
        config.limits = Some(Limits {
            reads: GateLimits {
                running: 1,
                waiting: 0,
                max_wait: std::time::Duration::ZERO,
            },
            ..Limits::for_connections(db.store.connections())
        });
        let service = OrchestratorService::new(db.store.clone(), config, EventBus::default());
        let get = || {
            service.get_campaign(tonic::Request::new(pb::GetCampaignRequest {
                campaign: "nope".into(),
            }))
        };
        let held = service.gates().reads.enter().await.unwrap();
        let e = get().await.unwrap_err();
        assert_eq!(e.code(), Code::ResourceExhausted, "{e:?}");
        let leases = service
            .lease_calls(tonic::Request::new(pb::LeaseCallsRequest {
                worker_id: "w".into(),
                max_calls: 5,
                lease_seconds: 60,
                agent_calls: false,
            }))
            .await
            .unwrap();
        assert!(leases.into_inner().leases.is_empty());
        drop(held);
        assert_eq!(get().await.unwrap_err().code(), Code::NotFound);
    }
}

use huikuan_core::handoff::{FromCall, QueuedCall, ToCall};
use tokio::sync::mpsc;

/// The desk's ends of a queued call, as the test holds them.
type DeskEnds = (QueuedCall, mpsc::Receiver<FromCall>, mpsc::Sender<ToCall>);

/// A desk that hands each queued call, with its channels, to the test.
struct TestDesk(mpsc::UnboundedSender<DeskEnds>);

impl huikuan_orchestrator::AgentDesk for TestDesk {
    fn queue(&self, call: QueuedCall) -> huikuan_orchestrator::DeskLine {
        let (to_desk, heard) = mpsc::channel(16);
        let (tell, from_desk) = mpsc::channel(16);
        let _ = self.0.send((call, heard, tell));
        huikuan_orchestrator::DeskLine { to_desk, from_desk }
    }
}

/// A handed-over call reaches the agent desk only under the caller's live
/// lease; then what each side says reaches the other, checked, and a
/// dialer that goes away is heard as the call's end.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handoffs_reach_the_desk_only_under_a_live_lease() {
    let db = testing::sqlite().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let mut config = OrchestratorConfig::new(TOKEN);
    config.policy.rules.window_start = chrono::NaiveTime::MIN;
    config.policy.rules.window_end =
        chrono::NaiveTime::from_hms_nano_opt(23, 59, 59, 999_999_999).unwrap();
    let (calls_tx, mut calls) = mpsc::unbounded_channel();
    let extra = huikuan_orchestrator::ExtraServices {
        desk: Some(std::sync::Arc::new(TestDesk(calls_tx))),
        ..Default::default()
    };
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let handle = tokio::spawn(huikuan_orchestrator::serve_with(
        db.store.clone(),
        config,
        listener,
        async {
            let _ = stopped.await;
        },
        extra,
    ));
    let mut c = client::connect(&endpoint, TOKEN).await.unwrap();
    c.import_accounts(tokio_stream::iter(vec![pb::ImportAccountsRequest {
        campaign: "handoffs".into(),
        row: Some(row("H1", "13812345670", "3250.50")),
        ..Default::default()
    }]))
    .await
    .unwrap();
    let lease = lease_all(&mut c, &db.store, "w1")
        .await
        .remove("H1")
        .unwrap();
    let start = |worker: &str, token: i64| pb::HandoffUp {
        kind: Some(pb::handoff_up::Kind::Start(pb::HandoffStart {
            attempt_id: lease.attempt_id.clone(),
            lease_token: token,
            worker_id: worker.into(),
            account_id: "H1".into(),
            debtor_name: "张三".into(),
            phone: lease.phone.clone(),
            time_zone: lease.time_zone.clone(),
            dialect: "sichuanese".into(),
            overdue_amount: "3250.50".into(),
            days_past_due: 35,
            reason: "request_human".into(),
            ..Default::default()
        })),
    };

    // Another worker, or a wrong token: refused, nothing queued.
    for (worker, token) in [("w2", lease.lease_token), ("w1", lease.lease_token ^ 1)] {
        let e = c
            .handoff(tokio_stream::iter(vec![start(worker, token)]))
            .await
            .unwrap_err();
        assert_eq!(e.code(), Code::FailedPrecondition, "{e}");
    }
    // A first message that is not `start`.
    let e = c
        .handoff(tokio_stream::iter(vec![pb::HandoffUp {
            kind: Some(pb::handoff_up::Kind::AnswerSdp("v=0".into())),
        }]))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument, "{e}");
    assert!(calls.try_recv().is_err());

    let (up, up_rx) = mpsc::channel(16);
    up.send(start("w1", lease.lease_token)).await.unwrap();
    let mut down = c
        .handoff(tokio_stream::wrappers::ReceiverStream::new(up_rx))
        .await
        .unwrap()
        .into_inner();
    let (call, mut heard, tell) = calls.recv().await.unwrap();
    assert_eq!(call.call_id, lease.attempt_id);
    assert_eq!(call.dialect, huikuan_core::Dialect::Sichuanese);
    assert_eq!(call.reason, "request_human");

    tell.send(ToCall::Offer {
        sdp: "v=0 offer".into(),
    })
    .await
    .unwrap();
    let m = down.message().await.unwrap().unwrap();
    assert_eq!(
        m.kind,
        Some(pb::handoff_down::Kind::OfferSdp("v=0 offer".into()))
    );
    up.send(pb::HandoffUp {
        kind: Some(pb::handoff_up::Kind::AnswerSdp("v=0 answer".into())),
    })
    .await
    .unwrap();
    assert_eq!(
        heard.recv().await,
        Some(FromCall::Answer {
            sdp: "v=0 answer".into()
        })
    );
    // The dialer goes away without a word: the desk hears the call end.
    drop(up);
    drop(down);
    assert_eq!(
        heard.recv().await,
        Some(FromCall::Ended { by_debtor: false })
    );

    stop.send(()).unwrap();
    handle.await.unwrap().unwrap();
}
