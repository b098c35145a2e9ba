//! The closed set of things a debtor can mean in one turn.

use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Intent {
    ConfirmIdentity,
    DenyIdentity,
    PromiseToPay,
    RefuseToPay,
    AlreadyPaid,
    DisputeDebt,
    FinancialHardship,
    RequestInstallment,
    RequestHuman,
    BusyCallBack,
    AskDetails,
    Complaint,
    Abusive,
    AskIfRobot,
    Unclear,
}

impl Intent {
    pub const ALL: [Intent; 15] = [
        Intent::ConfirmIdentity,
        Intent::DenyIdentity,
        Intent::PromiseToPay,
        Intent::RefuseToPay,
        Intent::AlreadyPaid,
        Intent::DisputeDebt,
        Intent::FinancialHardship,
        Intent::RequestInstallment,
        Intent::RequestHuman,
        Intent::BusyCallBack,
        Intent::AskDetails,
        Intent::Complaint,
        Intent::Abusive,
        Intent::AskIfRobot,
        Intent::Unclear,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Intent::ConfirmIdentity => "confirm_identity",
            Intent::DenyIdentity => "deny_identity",
            Intent::PromiseToPay => "promise_to_pay",
            Intent::RefuseToPay => "refuse_to_pay",
            Intent::AlreadyPaid => "already_paid",
            Intent::DisputeDebt => "dispute_debt",
            Intent::FinancialHardship => "financial_hardship",
            Intent::RequestInstallment => "request_installment",
            Intent::RequestHuman => "request_human",
            Intent::BusyCallBack => "busy_call_back",
            Intent::AskDetails => "ask_details",
            Intent::Complaint => "complaint",
            Intent::Abusive => "abusive",
            Intent::AskIfRobot => "ask_if_robot",
            Intent::Unclear => "unclear",
        }
    }
}

impl fmt::Display for Intent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Intent {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Intent::ALL
            .into_iter()
            .find(|i| i.as_str() == s.trim())
            .ok_or_else(|| format!("unknown intent '{}'", s.trim()))
    }
}
