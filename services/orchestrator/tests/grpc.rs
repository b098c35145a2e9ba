//! The Orchestrator over real loopback gRPC, on SQLite and (when
//! HUIKUAN_TEST_PG is set) PostgreSQL.

use huikuan_orchestrator::pb::{self, orchestrator_client::OrchestratorClient};
use huikuan_orchestrator::{client, OrchestratorConfig};
use huikuan_store::testing::{self, TestDb};
use tonic::Code;

const TOKEN: &str = "test-token";

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
            })
            .await
            .unwrap_err();
        assert!(e.message().starts_with("max_calls:"), "{}", e.message());

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
            },
            pb::ImportAccountsRequest {
                campaign: String::new(),
                row: Some(row("G2", "123", "10")),
            },
            pb::ImportAccountsRequest {
                campaign: String::new(),
                row: Some(row("G3", "13912345678", "1.234")),
            },
            pb::ImportAccountsRequest {
                campaign: String::new(),
                row: Some(row("G4", "13712345678", "99")),
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
        assert_eq!(page.next_page_token, "G1");
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

        // Lease, report, report again.
        let leases = c
            .lease_calls(pb::LeaseCallsRequest {
                worker_id: "w1".into(),
                max_calls: 10,
                lease_seconds: 60,
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
            promise_date: "2026-12-01".into(),
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
            ("2026-12-01", "1200.50")
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
