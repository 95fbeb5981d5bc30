//! A generated local web: `pages` HTML pages spread over `hosts` addresses 127.0.0.2, 127.0.0.3, …
//! Page `i` lives on host `i % hosts`. Two shapes ([`Shape`]): `Tree` pages are ~340-byte stubs
//! linking to pages `2i+1` and `2i+2` (a binary tree, so every page is reachable from page 0 and
//! each is linked exactly once); `Realistic` pages are 3–8 KB of Russian-looking text with 10–20
//! links (the children `10i+1 … 10i+10`, so every page is reachable, plus random ones, half on the
//! same host written root-relative) and 1–3 images, like `../shared/tools/crawlbench/gen_web.py`.
//! Shared by tests and benchmarks; pages are generated per request, deterministically from `i`.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use tokio::net::TcpListener;

/// What the pages look like.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// ~340-byte pages, two links each, every page linked exactly once.
    Tree,
    /// 3–8 KB Russian-looking pages with 10–20 links and 1–3 images.
    Realistic,
}

#[derive(Clone)]
struct Web {
    hosts: Arc<Vec<SocketAddr>>,
    pages: usize,
    shape: Shape,
}

const WORDS: &[&str] = &[
    "город",
    "область",
    "район",
    "улица",
    "дом",
    "квартира",
    "работа",
    "время",
    "человек",
    "жизнь",
    "день",
    "год",
    "неделя",
    "месяц",
    "утро",
    "вечер",
    "вопрос",
    "ответ",
    "решение",
    "задача",
    "проект",
    "система",
    "служба",
    "отдел",
    "центр",
    "совет",
    "группа",
    "семья",
    "школа",
    "учитель",
    "книга",
    "газета",
    "статья",
    "новость",
    "сообщение",
    "письмо",
    "телефон",
    "адрес",
    "сайт",
    "страница",
    "раздел",
    "каталог",
    "товар",
    "цена",
    "скидка",
    "заказ",
    "доставка",
    "оплата",
    "магазин",
    "рынок",
    "площадь",
    "парк",
    "река",
    "озеро",
    "гора",
    "поле",
    "лес",
    "дорога",
    "мост",
    "вокзал",
    "поезд",
    "автобус",
    "машина",
    "погода",
    "солнце",
    "дождь",
    "снег",
    "ветер",
    "зима",
    "весна",
    "лето",
    "осень",
    "праздник",
    "концерт",
    "театр",
    "музей",
    "выставка",
    "спорт",
    "футбол",
    "команда",
    "игра",
    "победа",
    "здоровье",
    "врач",
    "больница",
    "аптека",
    "лекарство",
    "студент",
    "университет",
    "экзамен",
    "наука",
    "результат",
    "данные",
    "отчёт",
    "план",
    "программа",
    "закон",
    "право",
    "суд",
    "налог",
    "бюджет",
    "банк",
    "кредит",
    "рубль",
    "тенге",
    "курс",
    "большой",
    "новый",
    "старый",
    "хороший",
    "важный",
    "главный",
    "местный",
    "городской",
    "быстрый",
    "тёплый",
    "холодный",
    "простой",
    "первый",
    "второй",
    "последний",
    "каждый",
    "говорить",
    "сказать",
    "делать",
    "работать",
    "жить",
    "знать",
    "думать",
    "видеть",
    "читать",
    "писать",
    "купить",
    "продать",
    "открыть",
    "закрыть",
    "начать",
    "получить",
    "отправить",
    "помочь",
    "строить",
    "сегодня",
    "вчера",
    "завтра",
    "всегда",
    "иногда",
    "часто",
    "очень",
    "уже",
    "ещё",
    "снова",
    "также",
    "только",
    "поэтому",
    "который",
    "этот",
    "свой",
    "наш",
    "один",
    "два",
    "три",
    "десять",
    "сто",
    "тысяча",
    "много",
    "несколько",
    "Караганда",
    "Алматы",
    "Астана",
    "Шымкент",
    "Павлодар",
    "Костанай",
    "Темиртау",
    "Семей",
    "Актобе",
    "Атырау",
];

/// splitmix64: a small deterministic generator, so page `i` is the same on every request.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn words(&mut self, out: &mut String, n: usize) {
        for k in 0..n {
            if k > 0 {
                out.push(' ');
            }
            out.push_str(WORDS[self.below(WORDS.len())]);
        }
    }
}

/// Page `i` of the realistic shape.
fn realistic_page(web: &Web, i: usize) -> String {
    let mut rng = Rng(i as u64 ^ 0x006b_757a_6574);
    let n = web.pages;
    let hosts = web.hosts.len();
    let mut body = String::with_capacity(9 * 1024);
    body.push_str("<!doctype html><html lang=ru><head><meta charset=utf-8><title>");
    rng.words(&mut body, 4);
    body.push_str(&format!(
        " — {i}</title><style>body{{font:14px sans-serif}} nav a{{margin:0 4px}}</style>\
         <script>var page = {i};</script></head><body><nav>"
    ));
    // Links: the tree children first (every page reachable), then random ones up to 10–20.
    let mut targets: Vec<usize> = (10 * i + 1..=10 * i + 10).filter(|&c| c < n).collect();
    let want = 10 + rng.below(11);
    while targets.len() < want {
        let t = if rng.below(2) == 0 {
            // Same host: pages i % hosts, i % hosts + hosts, …
            (i % hosts + hosts * rng.below(n.div_ceil(hosts))).min(n - 1)
        } else {
            rng.below(n)
        };
        targets.push(t);
    }
    for (k, &t) in targets.iter().enumerate() {
        if k == targets.len() / 2 {
            body.push_str("</nav><h1>");
            rng.words(&mut body, 5);
            body.push_str("</h1>");
        }
        let href = if t % hosts == i % hosts {
            format!("/p/{t}")
        } else {
            page_url(&web.hosts, t)
        };
        body.push_str(&format!("<p><a href=\"{href}\">"));
        let len = 2 + rng.below(3);
        rng.words(&mut body, len);
        body.push_str("</a> ");
        let len = 5 + rng.below(10);
        rng.words(&mut body, len);
        body.push_str(".</p>");
    }
    for _ in 0..1 + rng.below(3) {
        body.push_str("<img src=\"/static/pixel.png\" alt=\"");
        rng.words(&mut body, 2);
        body.push_str("\">");
    }
    let size = 3 * 1024 + rng.below(5 * 1024);
    while body.len() < size {
        body.push_str("<p>");
        let len = 30 + rng.below(50);
        rng.words(&mut body, len);
        body.push_str(".</p>");
    }
    body.push_str("<footer>© ");
    rng.words(&mut body, 3);
    body.push_str("</footer></body></html>");
    body
}

/// The URL of page `i`.
pub fn page_url(hosts: &[SocketAddr], i: usize) -> String {
    format!("http://{}/p/{i}", hosts[i % hosts.len()])
}

async fn page(State(web): State<Web>, Path(i): Path<usize>) -> impl IntoResponse {
    if i >= web.pages {
        return (
            StatusCode::NOT_FOUND,
            [(header::CONTENT_TYPE, "text/html")],
            String::new(),
        );
    }
    if web.shape == Shape::Realistic {
        return (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            realistic_page(&web, i),
        );
    }
    let mut body = format!(
        "<!doctype html><html><head><meta charset=utf-8><title>Страница {i}</title></head><body>\
         <h1>Объявления, страница {i}</h1><p>Продам велосипед, Алматы, недорого. Доставка по городу.</p>"
    );
    for child in [2 * i + 1, 2 * i + 2] {
        if child < web.pages {
            body.push_str(&format!(
                "<a href=\"{}\">страница {child}</a> ",
                page_url(&web.hosts, child)
            ));
        }
    }
    body.push_str("</body></html>");
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        body,
    )
}

/// Starts the tree-shaped web; returns the host addresses (page 0 is on the first).
pub async fn start(hosts: usize, pages: usize) -> Vec<SocketAddr> {
    start_shaped(hosts, pages, Shape::Tree).await
}

/// Starts a web of this shape; returns the host addresses (page 0 is on the first).
pub async fn start_shaped(hosts: usize, pages: usize, shape: Shape) -> Vec<SocketAddr> {
    let mut listeners = Vec::new();
    for h in 0..hosts {
        let ip = format!("127.0.{}.{}", (h + 2) / 250, (h + 2) % 250 + 1);
        listeners.push(
            TcpListener::bind((ip.as_str(), 0))
                .await
                .expect("bind 127.0.x.y"),
        );
    }
    let addrs: Vec<SocketAddr> = listeners
        .iter()
        .map(|l| l.local_addr().expect("addr"))
        .collect();
    let web = Web {
        hosts: Arc::new(addrs.clone()),
        pages,
        shape,
    };
    let app = Router::new().route("/p/{i}", get(page)).with_state(web);
    for l in listeners {
        let app = app.clone();
        tokio::spawn(async move {
            let _ = axum::serve(l, app).await;
        });
    }
    addrs
}
