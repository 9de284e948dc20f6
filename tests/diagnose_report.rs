//! `diagnose --report`: the page is self-contained (no script, nothing fetched) and a real browser
//! renders it with scripts disabled: headless Chromium takes a screenshot of a copy that carries
//! `Content-Security-Policy: script-src 'none'`, which must not be blank, and its DOM must hold
//! every section. Chromium is Debian's `chromium` (`.ci/run` installs it and sets
//! RETINA_REQUIRE_CHROMIUM=1, so CI cannot skip this); elsewhere the test says it skipped.

mod common;
use common::{fixture, run, stderr};
use std::path::{Path, PathBuf};
use std::process::Command;

const SECTIONS: [&str; 8] = [
    "summary",
    "tide",
    "anchors",
    "confusion",
    "calibration",
    "pr",
    "classes",
    "suspects",
];

fn chromium() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("CHROMIUM") {
        return Some(PathBuf::from(p));
    }
    for name in ["chromium", "chromium-browser", "google-chrome"] {
        for dir in std::env::var("PATH").unwrap_or_default().split(':') {
            let p = Path::new(dir).join(name);
            if p.is_file() {
                return Some(p);
            }
        }
    }
    None
}

fn browser(bin: &Path, profile: &Path, args: &[&str]) -> std::process::Output {
    Command::new(bin)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .output()
        .expect("chromium runs")
}

fn make_report(dir: &Path, iou_type: &str) -> (PathBuf, String) {
    let preds = fixture(if iou_type == "bbox" {
        "coco-val2014-100/fakebbox100_results.json"
    } else {
        "coco-val2014-100/fakesegm100_results.json"
    });
    let gt = fixture("coco-val2014-100/instances_val2014_100.json");
    let html = dir.join(format!("report_{}.html", iou_type));
    let o = run(&[
        "diagnose",
        preds.to_str().unwrap(),
        "--gt",
        gt.to_str().unwrap(),
        "--iou-type",
        iou_type,
        "--anchors",
        "detectron2",
        "--suspect-score",
        "0.5",
        "--report",
        html.to_str().unwrap(),
        "-q",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let page = std::fs::read_to_string(&html).unwrap();
    (html, page)
}

#[test]
fn the_page_is_self_contained_and_has_every_section() {
    let dir = tempfile::tempdir().unwrap();
    for iou_type in ["bbox", "segm"] {
        let (_, page) = make_report(dir.path(), iou_type);
        assert!(
            !page.to_ascii_lowercase().contains("<script"),
            "the page has a script"
        );
        for bad in ["src=\"http", "href=\"http", "url(http", "@import"] {
            assert!(!page.contains(bad), "the page fetches something: {}", bad);
        }
        for s in SECTIONS {
            assert!(
                page.contains(&format!("<section id=\"{}\">", s)),
                "{}: no section {}",
                iou_type,
                s
            );
        }
        // Every figure is inline SVG: TIDE, anchors, confusion, reliability, PR.
        assert_eq!(page.matches("<svg").count(), 5, "{}", iou_type);
    }
}

#[test]
fn headless_chromium_renders_it_without_scripts() {
    let Some(bin) = chromium() else {
        assert!(
            std::env::var("RETINA_REQUIRE_CHROMIUM").is_err(),
            "RETINA_REQUIRE_CHROMIUM is set but no chromium was found"
        );
        eprintln!("SKIPPED: no chromium on PATH (apt-get install chromium; CI installs it)");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (_, page) = make_report(dir.path(), "bbox");
    let locked = dir.path().join("locked.html");
    std::fs::write(
        &locked,
        page.replacen(
            "<head>",
            "<head><meta http-equiv=\"Content-Security-Policy\" content=\"script-src 'none'\">",
            1,
        ),
    )
    .unwrap();
    let url = format!("file://{}", locked.display());
    let shot = dir.path().join("shot.png");
    let profile = dir.path().join("profile");
    let o = browser(
        &bin,
        &profile,
        &[
            "--window-size=1280,2400",
            &format!("--screenshot={}", shot.display()),
            &url,
        ],
    );
    assert!(
        shot.exists(),
        "no screenshot: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    // Not blank: many colours, and a good share of the page is not background.
    let decoder = png::Decoder::new(std::fs::File::open(&shot).unwrap());
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    let ch = info.color_type.samples();
    let px = &buf[..info.buffer_size()];
    let mut colours = std::collections::HashSet::new();
    let mut ink = 0usize;
    let n = px.len() / ch;
    for p in px.chunks_exact(ch) {
        colours.insert((p[0], p[1], p[2]));
        ink += (p[0] < 230 || p[1] < 230 || p[2] < 230) as usize;
    }
    assert!(
        info.width >= 1000 && info.height >= 2000,
        "{}x{}",
        info.width,
        info.height
    );
    assert!(
        colours.len() > 200,
        "{} colours: a blank page?",
        colours.len()
    );
    assert!(
        ink * 20 > n,
        "only {} of {} pixels are not background",
        ink,
        n
    );
    // The DOM the browser built, scripts disabled, has every section and its figures.
    let o = browser(&bin, &profile, &["--dump-dom", &url]);
    let dom = String::from_utf8_lossy(&o.stdout);
    for s in SECTIONS {
        assert!(
            dom.contains(&format!("id=\"{}\"", s)),
            "rendered DOM lacks section {}",
            s
        );
    }
    assert!(dom.matches("<svg").count() >= 5);
}
