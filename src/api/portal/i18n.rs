//! The pages' two languages, bokmål and English: which one a request gets, and every
//! text the pages show, as one enum of messages with both renderings side by side (a
//! message cannot exist in one language only).

/// A page language.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    Nb,
    En,
}

/// The language a person gets when nothing they send names one: the pages are for
/// Norwegian organisations.
pub const LANG_DEFAULT: Lang = Lang::Nb;

impl Lang {
    /// The `lang` attribute and the switch's value.
    pub fn code(self) -> &'static str {
        match self {
            Lang::Nb => "nb",
            Lang::En => "en",
        }
    }

    /// `nb`, `no`, `nn` (shown in bokmål: there is no nynorsk text yet) or `en`, with or
    /// without a region (`nb-NO`, `en-GB`).
    pub fn parse(tag: &str) -> Option<Lang> {
        let primary = tag.split(['-', '_']).next().unwrap_or("").trim().to_ascii_lowercase();
        match primary.as_str() {
            "nb" | "no" | "nn" => Some(Lang::Nb),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    /// The first language of an `Accept-Language` header the pages have, by the weights
    /// the browser gave (ties in the order written); `None` if it names neither.
    pub fn from_accept_language(header: &str) -> Option<Lang> {
        let mut ranked: Vec<(u32, usize, Lang)> = header
            .split(',')
            .enumerate()
            .filter_map(|(order, item)| {
                let mut parts = item.split(';');
                let lang = Lang::parse(parts.next()?)?;
                let weight = parts.find_map(|p| p.trim().strip_prefix("q=")).map_or(Some(1000), |q| {
                    q.trim().parse::<f32>().ok().map(|q| (q.clamp(0.0, 1.0) * 1000.0) as u32)
                })?;
                (weight > 0).then_some((weight, order, lang))
            })
            .collect();
        ranked.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        ranked.first().map(|(_, _, lang)| *lang)
    }

    /// The other language (for the switch).
    pub fn other(self) -> Lang {
        match self {
            Lang::Nb => Lang::En,
            Lang::En => Lang::Nb,
        }
    }
}

/// Every text of the pages. `{}` marks where [`Lang::fill`] puts values, in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Msg {
    ServiceName,
    SwitchLanguage,
    SkipToContent,
    SignedInAs,
    SignOut,
    SignIn,
    SignInTitle,
    SignInIntro,
    SignInNotHere,
    SignInAsAdmin,
    SignInAsClientAdmin,
    Role,
    OrgNo,
    Person,
    NotSignedIn,
    StandardRequestTitle,
    AgentRequestTitle,
    ChangeRequestTitle,
    Asks,
    AsksChange,
    System,
    Vendor,
    ForOrganisation,
    SystemUser,
    Rights,
    AccessPackages,
    RightsToAdd,
    RightsToRemove,
    PackagesToAdd,
    PackagesToRemove,
    None,
    ExternalRef,
    Status,
    Created,
    Expires,
    SentBackTo,
    Approve,
    Reject,
    Escalate,
    EscalateHint,
    Escalated,
    AlreadyEscalated,
    AnswerHint,
    StatusNew,
    StatusAccepted,
    StatusRejected,
    StatusWithdrawn,
    StatusExpired,
    NoLongerNew,
    Expired,
    NotYourOrganisation,
    NotAnAdmin,
    Approved,
    Rejected,
    NoSuchRequest,
    NoRequestNamed,
    History,
    HistoryRequested,
    HistoryEscalated,
    HistoryApproved,
    HistoryRejected,
    FormUnreadable,
    FormForged,
    Refused,
    Unavailable,
    SystemUsersTitle,
    SystemUsersIntro,
    NoSystemUsers,
    StandardUser,
    AgentUser,
    Kind,
    ApprovedBy,
    Clients,
    NoClients,
    ClientsIntro,
    AddableClients,
    NoAddableClients,
    AddClients,
    RemoveClients,
    Relationship,
    ClientGave,
    LinkedSince,
    DeleteTitle,
    DeleteConfirm,
    Delete,
    Deleted,
    ClientsAdded,
    ClientsRemoved,
    ChooseClients,
    ScopeLegend,
    ScopeHint,
    ChooseScope,
    OnlyScope,
    ClientGaveRight,
    NotYourSystemUser,
    NoSuchSystemUser,
    BackToOverview,
    HistoryCreated,
    HistoryLinked,
    HistoryLinkedOnly,
    HistoryUnlinked,
    HistoryDeleted,
    HistoryChanged,
    HistoryOther,
    ShowingFirst,
    SearchClients,
    Search,
}

impl Msg {
    /// (bokmål, English).
    fn texts(self) -> (&'static str, &'static str) {
        use Msg::*;
        match self {
            ServiceName => ("Systemtilganger", "System access"),
            SwitchLanguage => ("In English", "På norsk"),
            SkipToContent => ("Gå til hovedinnholdet", "Skip to the main content"),
            SignedInAs => ("Logget inn som {} for {}", "Signed in as {} for {}"),
            SignOut => ("Logg ut", "Sign out"),
            SignIn => ("Logg inn", "Sign in"),
            SignInTitle => ("Logg inn (lokal utvikling)", "Sign in (local development)"),
            SignInIntro => (
                "Denne tjenesten bruker sin egen, genererte utviklingsnøkkel, så du kan logge inn som en person i en virksomhet her. I drift står sidene bak virksomhetens innloggingsproxy, og denne siden finnes ikke.",
                "This service uses its own generated development key, so you may sign in here as a person of an organisation. In production the pages sit behind the organisation's sign-in proxy, and this page does not exist.",
            ),
            SignInNotHere => (
                "Innlogging skjer hos virksomhetens innloggingsløsning, ikke her: denne tjenesten stoler bare på tokens den får derfra.",
                "Sign-in happens at your organisation's identity provider, not here: this service trusts only the tokens it gets from there.",
            ),
            SignInAsAdmin => ("Tilgangsstyrer (admin)", "Access manager (admin)"),
            SignInAsClientAdmin => ("Klientadministrator (client-admin)", "Client administrator (client-admin)"),
            Role => ("Rolle", "Role"),
            OrgNo => ("Organisasjonsnummer", "Organisation number"),
            Person => ("Person (brukernavn)", "Person (user name)"),
            NotSignedIn => ("Du må logge inn for å se denne siden.", "Sign in to see this page."),
            StandardRequestTitle => ("Forespørsel om systembruker", "A system user is requested"),
            AgentRequestTitle => ("Forespørsel om systembruker for klienter", "An agent system user is requested"),
            ChangeRequestTitle => ("Forespørsel om endring av systembruker", "A change to a system user is requested"),
            Asks => ("{} fra {} ber om tilgang for {}.", "{} from {} asks for access for {}."),
            AsksChange => (
                "{} fra {} ber om å endre hva systembrukeren for {} kan gjøre.",
                "{} from {} asks to change what the system user for {} may do.",
            ),
            System => ("System", "System"),
            Vendor => ("Leverandør", "Vendor"),
            ForOrganisation => ("For virksomheten", "For the organisation"),
            SystemUser => ("Systembruker", "System user"),
            Rights => ("Rettigheter", "Rights"),
            AccessPackages => ("Tilgangspakker", "Access packages"),
            RightsToAdd => ("Rettigheter som legges til", "Rights to add"),
            RightsToRemove => ("Rettigheter som fjernes", "Rights to take away"),
            PackagesToAdd => ("Tilgangspakker som legges til", "Access packages to add"),
            PackagesToRemove => ("Tilgangspakker som fjernes", "Access packages to take away"),
            None => ("ingen", "none"),
            ExternalRef => ("Ekstern referanse", "External reference"),
            Status => ("Status", "Status"),
            Created => ("Opprettet", "Created"),
            Expires => ("Utløper", "Expires"),
            SentBackTo => ("Etter svaret sendes du tilbake til", "After you answer, you are sent back to"),
            Approve => ("Godkjenn", "Approve"),
            Reject => ("Avvis", "Reject"),
            Escalate => ("Send til tilgangsstyrerne", "Pass on to the access managers"),
            EscalateHint => (
                "Du kan sende forespørselen videre til dem, så ser de den blant sine ventende forespørsler.",
                "You can pass the request on to them, so that they see it among their pending requests.",
            ),
            Escalated => (
                "Forespørselen er sendt videre til virksomhetens tilgangsstyrere.",
                "The request is passed on to your organisation's access managers.",
            ),
            AlreadyEscalated => (
                "Forespørselen er allerede sendt videre til tilgangsstyrerne.",
                "The request is already passed on to the access managers.",
            ),
            AnswerHint => (
                "Godkjenner du, får systemet tilgangene over på vegne av virksomheten.",
                "If you approve, the system gets the access above on your organisation's behalf.",
            ),
            StatusNew => ("venter på svar", "waiting for an answer"),
            StatusAccepted => ("godkjent", "approved"),
            StatusRejected => ("avvist", "rejected"),
            StatusWithdrawn => ("trukket tilbake", "withdrawn"),
            StatusExpired => ("utløpt", "expired"),
            NoLongerNew => (
                "Denne forespørselen venter ikke lenger på svar: den er {}.",
                "This request is no longer waiting for an answer: it is {}.",
            ),
            Expired => (
                "Denne forespørselen utløp {}. Leverandøren må sende en ny.",
                "This request expired {}. The vendor must send a new one.",
            ),
            NotYourOrganisation => (
                "Denne forespørselen gjelder {}, ikke virksomheten du er logget inn for ({}). Logg inn for {} for å svare på den.",
                "This request is for {}, not for the organisation you are signed in for ({}). Sign in for {} to answer it.",
            ),
            NotAnAdmin => (
                "Du kan se forespørselen, men bare virksomhetens tilgangsstyrer (rollen admin) kan svare på den.",
                "You may see this request, but only your organisation's access manager (role admin) may answer it.",
            ),
            Approved => ("Forespørselen er godkjent.", "The request is approved."),
            Rejected => ("Forespørselen er avvist.", "The request is rejected."),
            NoSuchRequest => ("Det finnes ingen slik forespørsel.", "There is no such request."),
            NoRequestNamed => (
                "Denne adressen peker ikke på noen forespørsel: den mangler ?id=<forespørselens id>.",
                "This address names no request: it needs ?id=<the request's id>.",
            ),
            History => ("Historikk", "History"),
            HistoryRequested => ("forespurt av {}", "requested by {}"),
            HistoryEscalated => ("sendt videre til tilgangsstyrerne av {}", "passed on to the access managers by {}"),
            HistoryApproved => ("godkjent av {}", "approved by {}"),
            HistoryRejected => ("avvist av {}", "rejected by {}"),
            FormUnreadable => ("Skjemaet kunne ikke leses.", "The form could not be read."),
            FormForged => (
                "Skjemaet kom ikke fra denne siden, eller innloggingen er endret. Last siden på nytt og prøv igjen.",
                "This form did not come from this page, or your sign-in has changed. Reload the page and try again.",
            ),
            Refused => ("Svaret ble ikke godtatt: {}", "The answer was not accepted: {}"),
            SystemUsersTitle => ("Systembrukere", "System users"),
            SystemUsersIntro => (
                "Systemene som handler på vegne av {}: hva de har tilgang til, og for hvilke klienter.",
                "The systems that act for {}: what they may do, and for which clients.",
            ),
            NoSystemUsers => ("Virksomheten har ingen systembrukere.", "The organisation has no system users."),
            StandardUser => ("Standard", "Standard"),
            AgentUser => ("Klientsystembruker", "Agent (for clients)"),
            Kind => ("Type", "Kind"),
            ApprovedBy => ("Godkjent av", "Approved by"),
            Clients => ("Klienter", "Clients"),
            NoClients => ("Ingen klienter er lagt til.", "No clients are added."),
            ClientsIntro => (
                "Klientene systembrukeren handler for, og forholdet som gjør at den kan det.",
                "The clients the system user acts for, and the relationship that lets it.",
            ),
            AddableClients => ("Klienter som kan legges til", "Clients that can be added"),
            NoAddableClients => (
                "Ingen flere klienter har gitt virksomheten det denne systembrukeren trenger.",
                "No other client has given the organisation what this system user needs.",
            ),
            AddClients => ("Legg til valgte klienter", "Add the chosen clients"),
            RemoveClients => ("Fjern valgte klienter", "Remove the chosen clients"),
            Relationship => ("Forhold", "Relationship"),
            ClientGave => ("gitt av klienten", "given by the client"),
            LinkedSince => ("Lagt til", "Added"),
            DeleteTitle => ("Slett systembrukeren", "Delete the system user"),
            DeleteConfirm => (
                "Jeg forstår at systemet mister all tilgang, og at klientene fjernes.",
                "I understand that the system loses all access, and that its clients are removed.",
            ),
            Delete => ("Slett", "Delete"),
            Deleted => ("Systembrukeren er slettet.", "The system user is deleted."),
            ClientsAdded => ("Klientene er lagt til.", "The clients are added."),
            ClientsRemoved => ("Klientene er fjernet.", "The clients are removed."),
            ChooseClients => ("Velg minst én klient.", "Choose at least one client."),
            ScopeLegend => ("Hva systemet får for klientene du legger til", "What the system gets for the clients you add"),
            ScopeHint => (
                "Alt er valgt: klientene gir systemet alt det har. Fjern haken for det de ikke skal gi.",
                "Everything is chosen: the clients give the system all it carries. Untick what they should not give."
            ),
            ChooseScope => ("Velg minst én tilgang klientene skal gi.", "Choose at least one access the clients give."),
            OnlyScope => ("kun {}", "only {}"),
            ClientGaveRight => ("enkeltrettighet fra klienten", "single right from the client"),
            NotYourSystemUser => (
                "Denne systembrukeren tilhører en annen virksomhet.",
                "This system user belongs to another organisation.",
            ),
            NoSuchSystemUser => ("Det finnes ingen slik systembruker.", "There is no such system user."),
            BackToOverview => ("Alle systembrukere", "All system users"),
            HistoryCreated => ("opprettet av {}", "created by {}"),
            HistoryLinked => ("klient {} lagt til av {}", "client {} added by {}"),
            HistoryLinkedOnly => ("klient {} lagt til for kun {} av {}", "client {} added for {} only by {}"),
            HistoryUnlinked => ("klient {} fjernet av {}", "client {} removed by {}"),
            HistoryDeleted => ("slettet av {}", "deleted by {}"),
            HistoryChanged => ("tilganger endret av {}", "access changed by {}"),
            HistoryOther => ("{} av {}", "{} by {}"),
            ShowingFirst => (
                "Viser de første {} av {}. Søk for å finne de andre.",
                "Showing the first {} of {}. Search to find the others.",
            ),
            SearchClients => ("Finn klient (navn eller organisasjonsnummer)", "Find a client (name or organisation number)"),
            Search => ("Søk", "Search"),
            Unavailable => (
                "Tjenesten kan ikke ta imot svaret akkurat nå; ingenting er lagret. Prøv igjen om litt.",
                "The service cannot take the answer right now; nothing was stored. Try again in a moment.",
            ),
        }
    }
}

impl Lang {
    /// The message in this language.
    pub fn t(self, msg: Msg) -> &'static str {
        let (nb, en) = msg.texts();
        match self {
            Lang::Nb => nb,
            Lang::En => en,
        }
    }

    /// The message with `values` in place of its `{}`s, in order.
    pub fn fill(self, msg: Msg, values: &[&str]) -> String {
        let mut out = String::new();
        let mut rest = self.t(msg);
        debug_assert_eq!(rest.matches("{}").count(), values.len(), "{msg:?}: one value per place");
        let mut values = values.iter();
        while let Some(at) = rest.find("{}") {
            out.push_str(&rest[..at]);
            out.push_str(values.next().copied().unwrap_or(""));
            rest = &rest[at + 2..];
        }
        out.push_str(rest);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_language_is_read_by_weight_then_order() {
        assert_eq!(Lang::from_accept_language("nb-NO,nb;q=0.9,en;q=0.8"), Some(Lang::Nb));
        assert_eq!(Lang::from_accept_language("en-GB,en;q=0.9,nb;q=0.8"), Some(Lang::En));
        assert_eq!(Lang::from_accept_language("de;q=1, en;q=0.5, nn;q=0.7"), Some(Lang::Nb));
        assert_eq!(Lang::from_accept_language("en;q=0, nb;q=0.1"), Some(Lang::Nb));
        assert_eq!(Lang::from_accept_language("de, fr"), None);
        assert_eq!(Lang::from_accept_language("en;q=banana"), None);
        assert_eq!(Lang::from_accept_language(""), None);
    }

    #[test]
    fn every_message_has_as_many_places_in_both_languages() {
        use Msg::*;
        let all = [
            SignedInAs,
            Asks,
            AsksChange,
            NoLongerNew,
            Expired,
            NotYourOrganisation,
            HistoryRequested,
            HistoryEscalated,
            HistoryApproved,
            HistoryRejected,
            Refused,
        ];
        for msg in all {
            let (nb, en) = msg.texts();
            assert_eq!(nb.matches("{}").count(), en.matches("{}").count(), "{msg:?}");
        }
        assert_eq!(Lang::En.fill(Asks, &["A", "B", "C"]), "A from B asks for access for C.");
    }
}
