//! The face and body maps, drawn here as SVG so the same drawing serves the
//! page, a printout and a test. Each zone is a link that opens its record;
//! its colour says whether it is planned, charted, flagged or never needled.

use needlepoint_domain::knowledge::KnowledgeBase;
use std::fmt::Write;

/// A zone's shape: SVG elements, and where its depth label goes.
struct Shape {
    zone: &'static str,
    elements: &'static [&'static str],
    label: (u32, u32),
}

const FACE: &[Shape] = &[
    Shape {
        zone: "scalp",
        elements: &["<path d='M48,118 Q52,32 150,28 Q248,32 252,118 Q205,78 150,78 Q95,78 48,118 Z'/>"],
        label: (150, 58),
    },
    Shape {
        zone: "forehead",
        elements: &["<path d='M56,128 Q98,86 150,86 Q202,86 244,128 L238,150 Q150,128 62,150 Z'/>"],
        label: (150, 118),
    },
    Shape {
        zone: "periorbital",
        elements: &[
            "<ellipse cx='106' cy='176' rx='38' ry='22'/>",
            "<ellipse cx='194' cy='176' rx='38' ry='22'/>",
        ],
        label: (106, 204),
    },
    Shape {
        zone: "inside_orbital_rim",
        elements: &[
            "<ellipse cx='106' cy='176' rx='21' ry='10'/>",
            "<ellipse cx='194' cy='176' rx='21' ry='10'/>",
        ],
        label: (0, 0),
    },
    Shape {
        zone: "nose",
        elements: &["<path d='M140,170 L160,170 L173,246 Q150,258 127,246 Z'/>"],
        label: (150, 232),
    },
    Shape {
        zone: "cheeks",
        elements: &[
            "<path d='M60,196 Q70,184 88,204 L124,214 L120,264 Q84,270 68,250 Z'/>",
            "<path d='M240,196 Q230,184 212,204 L176,214 L180,264 Q216,270 232,250 Z'/>",
        ],
        label: (96, 236),
    },
    Shape {
        zone: "perioral",
        elements: &["<ellipse cx='150' cy='286' rx='42' ry='21'/>"],
        label: (150, 290),
    },
    Shape {
        zone: "jaw_chin",
        elements: &["<path d='M70,262 L92,300 Q150,352 208,300 L230,262 L240,272 Q222,334 150,348 Q78,334 60,272 Z'/>"],
        label: (150, 336),
    },
    Shape {
        zone: "neck",
        elements: &["<path d='M112,346 Q150,358 188,346 L196,396 L104,396 Z'/>"],
        label: (150, 382),
    },
];

const BODY: &[Shape] = &[
    Shape {
        zone: "chest",
        elements: &["<rect x='52' y='44' width='72' height='42' rx='8'/>"],
        label: (88, 70),
    },
    Shape {
        zone: "abdomen",
        elements: &["<rect x='56' y='88' width='64' height='52' rx='6'/>"],
        label: (88, 118),
    },
    Shape {
        zone: "arms",
        elements: &[
            "<rect x='28' y='46' width='20' height='86' rx='9'/>",
            "<rect x='128' y='46' width='20' height='86' rx='9'/>",
            "<rect x='200' y='46' width='20' height='86' rx='9'/>",
            "<rect x='300' y='46' width='20' height='86' rx='9'/>",
        ],
        label: (38, 92),
    },
    Shape {
        zone: "hands",
        elements: &[
            "<circle cx='38' cy='146' r='11'/>",
            "<circle cx='138' cy='146' r='11'/>",
        ],
        label: (38, 168),
    },
    Shape {
        zone: "thighs",
        elements: &[
            "<rect x='56' y='144' width='30' height='92' rx='10'/>",
            "<rect x='90' y='144' width='30' height='92' rx='10'/>",
        ],
        label: (88, 196),
    },
    Shape {
        zone: "back",
        elements: &["<rect x='224' y='44' width='72' height='74' rx='8'/>"],
        label: (260, 84),
    },
    Shape {
        zone: "buttocks",
        elements: &["<rect x='226' y='120' width='68' height='36' rx='12'/>"],
        label: (260, 142),
    },
];

/// How one zone is drawn.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ZoneState {
    /// Not in the plan (or no consent covers it).
    Off,
    Planned,
    /// Charted, with its depth label.
    Charted(String),
    /// Charted above its range with an override.
    Flagged(String),
    /// The patient's history bars it today, with why.
    Barred(String),
    NoGo,
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('\'', "&#39;")
}

fn draw(
    out: &mut String,
    kb: &KnowledgeBase,
    shapes: &[Shape],
    href: &dyn Fn(&str) -> String,
    state: &dyn Fn(&str) -> ZoneState,
    selected: Option<&str>,
) {
    // No-go zones are drawn last, on top of what surrounds them.
    let (normal, nogo): (Vec<&Shape>, Vec<&Shape>) = shapes
        .iter()
        .partition(|s| !kb.no_go_zones.iter().any(|z| z.code == s.zone));
    for s in normal.into_iter().chain(nogo) {
        let st = state(s.zone);
        let (class, note, label) = match &st {
            ZoneState::Off => ("off", "not planned".to_string(), None),
            ZoneState::Planned => ("planned", "planned".to_string(), None),
            ZoneState::Charted(d) => ("charted", format!("charted at {d} mm"), Some(d)),
            ZoneState::Flagged(d) => ("flagged", format!("{d} mm, above range: flagged"), Some(d)),
            ZoneState::Barred(why) => ("barred", format!("not to be needled today: {why}"), None),
            ZoneState::NoGo => ("nogo", "never needled".to_string(), None),
        };
        let name = kb
            .area(s.zone)
            .map(|a| a.name.clone())
            .or_else(|| {
                kb.no_go_zones
                    .iter()
                    .find(|z| z.code == s.zone)
                    .map(|z| z.name.clone())
            })
            .unwrap_or_else(|| s.zone.to_string());
        let sel = if selected == Some(s.zone) {
            " selected"
        } else {
            ""
        };
        let _ = write!(
            out,
            "<a href='{}' class='zone {class}{sel}' data-zone='{}' id='map-{}'><title>{}: {}</title>{}",
            escape(&href(s.zone)),
            s.zone,
            s.zone,
            escape(&name),
            escape(&note),
            s.elements.concat()
        );
        // The zone's name on it (short: "Cheeks", not "Cheeks and
        // zygoma"), above its depth once charted.
        let name_y = if label.is_some() {
            s.label.1 - 11
        } else {
            s.label.1
        };
        let _ = write!(
            out,
            "<text x='{}' y='{}' class='zone-name' aria-hidden='true'>{}</text>",
            s.label.0,
            name_y,
            escape(short_name(&name))
        );
        if let Some(d) = label {
            let _ = write!(
                out,
                "<text x='{}' y='{}' class='depth-label'>{}</text>",
                s.label.0,
                s.label.1,
                escape(d)
            );
        }
        out.push_str("</a>");
    }
}

/// A zone's name short enough for the map: up to " and", "(" or ",".
fn short_name(name: &str) -> &str {
    let end = [" and ", " (", ","]
        .iter()
        .filter_map(|sep| name.find(sep))
        .min()
        .unwrap_or(name.len());
    name[..end].trim()
}

/// The face map and the body map, side by side.
pub fn render(
    kb: &KnowledgeBase,
    href: &dyn Fn(&str) -> String,
    state: &dyn Fn(&str) -> ZoneState,
    selected: Option<&str>,
) -> String {
    let mut out = String::from(
        "<svg class='zone-map face' viewBox='0 0 300 400' role='group' aria-label='Face map: choose a zone'>\
         <defs><pattern id='barred-hatch' width='6' height='6' patternUnits='userSpaceOnUse' patternTransform='rotate(45)'>\
         <rect width='6' height='6' fill='#d5d9d8'/><rect width='2' height='6' fill='#9aa4a1'/></pattern></defs>\
         <ellipse class='outline' cx='150' cy='190' rx='112' ry='156'/>",
    );
    draw(&mut out, kb, FACE, href, state, selected);
    out.push_str(
        "</svg><svg class='zone-map body' viewBox='0 0 340 250' role='group' aria-label='Body map, front and back: choose a zone'>\
         <circle class='outline' cx='88' cy='22' r='18'/><circle class='outline' cx='260' cy='22' r='18'/>\
         <text x='88' y='248' class='map-caption'>Front</text><text x='260' y='248' class='map-caption'>Back</text>",
    );
    draw(&mut out, kb, BODY, href, state, selected);
    out.push_str("</svg>");
    out
}

/// Every zone the maps draw, for tests and forms.
pub fn zones() -> impl Iterator<Item = &'static str> {
    FACE.iter().chain(BODY).map(|s| s.zone)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zones_are_named_on_the_map() {
        assert_eq!(short_name("Cheeks and zygoma"), "Cheeks");
        assert_eq!(
            short_name("Around the eyes (periorbital)"),
            "Around the eyes"
        );
        assert_eq!(short_name("Nose"), "Nose");
        let kb = needlepoint_knowledge::shipped().unwrap();
        let svg = render(
            &kb,
            &|z| format!("?zone={z}"),
            &|_| ZoneState::Planned,
            None,
        );
        for a in &kb.areas {
            assert!(
                svg.contains(&format!(">{}</text>", short_name(&a.name))),
                "{} is named on the map",
                a.name
            );
        }
    }

    #[test]
    fn every_area_and_no_go_zone_is_on_a_map() {
        let kb = needlepoint_knowledge::shipped().unwrap();
        let drawn: Vec<&str> = zones().collect();
        for a in &kb.areas {
            assert!(drawn.contains(&a.code.as_str()), "{} is not drawn", a.code);
        }
        for z in &kb.no_go_zones {
            assert!(drawn.contains(&z.code.as_str()), "{} is not drawn", z.code);
        }
        for z in &drawn {
            assert!(
                kb.area(z).is_some() || kb.no_go_zones.iter().any(|n| n.code == *z),
                "{z} is not in the knowledge base"
            );
        }
    }

    #[test]
    fn zones_link_and_show_their_state() {
        let kb = needlepoint_knowledge::shipped().unwrap();
        let svg = render(
            &kb,
            &|z| format!("/sessions/1?zone={z}"),
            &|z| match z {
                "cheeks" => ZoneState::Charted("1.00".into()),
                "forehead" => ZoneState::Flagged("0.75".into()),
                "nose" => ZoneState::Barred("Mole being checked (until it resolves)".into()),
                "inside_orbital_rim" => ZoneState::NoGo,
                _ => ZoneState::Off,
            },
            Some("cheeks"),
        );
        assert!(svg.contains("href='/sessions/1?zone=cheeks' class='zone charted selected'"));
        assert!(svg.contains("class='zone flagged'"));
        assert!(svg.contains("class='zone nogo'"));
        assert!(svg.contains(">1.00</text>"));
        assert!(svg.contains("<title>Cheeks and zygoma: charted at 1.00 mm</title>"));
        assert!(svg.contains("<title>Inside the orbital rim: never needled</title>"));
        assert!(svg.contains("class='zone barred'"));
        assert!(svg.contains(
            "<title>Nose: not to be needled today: Mole being checked (until it resolves)</title>"
        ));
        // The no-go zone is drawn after (on top of) the area around it.
        assert!(svg.find("data-zone='inside_orbital_rim'") > svg.find("data-zone='periorbital'"));
    }
}
