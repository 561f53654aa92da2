//! Funds a red packet, pays part of it to a user, then queries both operations: the whole
//! fund.coupon flow against hongbao's demo, or any gateway.
//!
//! Against the demo: start `cargo run -p hongbao -- serve` in one terminal, then from the same
//! folder (the one holding `hongbao-data/`)
//!
//! ```text
//! cargo run -p hongbao-client --example pay_disburse_query
//! ```
//!
//! Settings (environment, with the demo's values as defaults): `HONGBAO_GATEWAY`
//! (`http://127.0.0.1:9999/gateway.do`), `HONGBAO_APP_ID` (`2021000000000001`),
//! `HONGBAO_APP_PRIVATE_KEY` and `HONGBAO_ALIPAY_PUBLIC_KEY` (the files
//! `hongbao-data/keys/app_private.pem` and `hongbao-data/keys/gateway_public.pem`),
//! `HONGBAO_PAYER` (the app's merchant account, `2088102000000001`) and `HONGBAO_PAYEE`
//! (`2088102000000002`).

use hongbao_client::*;

/// Where and as whom the example runs.
pub struct Demo {
    /// The gateway URL.
    pub gateway: String,
    /// The app.
    pub app_id: String,
    /// The app's private key (PEM or bare base64).
    pub app_private_key: String,
    /// The gateway's ("Alipay") public key.
    pub alipay_public_key: String,
    /// The account that funds the packet (the app's merchant account).
    pub payer: UserId,
    /// Who claims part of it.
    pub payee: UserId,
    /// Keeps this run's ids apart from earlier runs' (the demo keeps its data).
    pub run: String,
}

/// What the example did.
#[derive(Debug)]
pub struct Summary {
    /// The packet's answer.
    pub paid: OperationResponse,
    /// The disburse's answer.
    pub disbursed: OperationResponse,
    /// The pay, as queried.
    pub pay_detail: OperationQueryResponse,
    /// The disburse, as queried.
    pub disburse_detail: OperationQueryResponse,
}

impl Demo {
    /// The settings from the environment, defaulting to the demo's.
    pub fn from_env() -> Result<Demo, Box<dyn std::error::Error>> {
        let var = |name: &str, default: &str| std::env::var(name).unwrap_or(default.to_owned());
        let read = |name: &str, default: &str| -> Result<String, Box<dyn std::error::Error>> {
            let path = var(name, default);
            std::fs::read_to_string(&path).map_err(|err| format!("{name} = {path}: {err}").into())
        };
        Ok(Demo {
            gateway: var("HONGBAO_GATEWAY", HONGBAO_LOCAL_GATEWAY),
            app_id: var("HONGBAO_APP_ID", "2021000000000001"),
            app_private_key: read("HONGBAO_APP_PRIVATE_KEY", "hongbao-data/keys/app_private.pem")?,
            alipay_public_key: read(
                "HONGBAO_ALIPAY_PUBLIC_KEY",
                "hongbao-data/keys/gateway_public.pem",
            )?,
            payer: UserId::new(var("HONGBAO_PAYER", "2088102000000001")),
            payee: UserId::new(var("HONGBAO_PAYEE", "2088102000000002")),
            run: chrono::Utc::now().format("%Y%m%d%H%M%S%3f").to_string(),
        })
    }

    /// The client for these settings.
    pub fn client(&self) -> Result<Client, Error> {
        let app_key = PrivateKey::from_text(&self.app_private_key)
            .map_err(|err| ErrorKind::Invalid { detail: format!("app key: {err}") })?;
        let alipay_key = PublicKey::from_text(&self.alipay_public_key)
            .map_err(|err| ErrorKind::Invalid { detail: format!("Alipay key: {err}") })?;
        Client::builder(&self.gateway, &self.app_id, app_key, alipay_key).build()
    }
}

/// Pay 10.00 into a packet, pay 3.00 of it to the payee, query both.
pub async fn run(demo: &Demo) -> Result<Summary, Error> {
    let client = demo.client()?;
    let packet_no = OutOrderNo::new(format!("example-{}", demo.run));
    let pay = AgreementPayRequest::new(
        packet_no.clone(),
        OutRequestNo::new("pay-1"),
        "示例红包",
        Fen::from_fen(1000),
        demo.payer.clone(),
    )
    .pay_timeout(PayTimeout::minutes(30)?);
    let paid = client.agreement_pay(&pay).await?;

    let claim_no = OutOrderNo::new(format!("example-{}-claim", demo.run));
    let claim = DisburseRequest::new(
        claim_no,
        OrderRef::AuthNo(paid.auth_no.clone()),
        OutRequestNo::new("claim-1"),
        "红包领取",
        Fen::from_fen(300),
        Payee::UserId(demo.payee.clone()),
    );
    // A disburse whose outcome is unknown is resent unchanged (the client already retried the
    // identical request); here it is simply reported.
    let disbursed = client.disburse(&claim).await?;

    let pay_detail = client
        .operation_query(&OperationQueryRequest::new(
            OrderRef::OutOrderNo(packet_no),
            OperationRef::OutRequestNo(OutRequestNo::new("pay-1")),
        ))
        .await?;
    let disburse_detail = client
        .operation_query(&OperationQueryRequest::new(
            OrderRef::AuthNo(disbursed.auth_no.clone()),
            OperationRef::OperationId(disbursed.operation_id.clone()),
        ))
        .await?;
    Ok(Summary { paid, disbursed, pay_detail, disburse_detail })
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let demo = Demo::from_env()?;
    let summary = run(&demo).await?;
    println!(
        "packet {} funded with {} ({}), {} paid to {} ({}); {} returned so far",
        summary.paid.auth_no,
        summary.paid.amount,
        summary.paid.status.as_str(),
        summary.disbursed.amount,
        demo.payee,
        summary.disburse_detail.status.as_str(),
        summary.pay_detail.total_pay_refund_amount.unwrap_or(Fen::ZERO),
    );
    Ok(())
}
