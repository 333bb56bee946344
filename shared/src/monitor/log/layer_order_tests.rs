//! `layer_order` on logs as the builders print them: BuildKit's plain progress (`#N [i/m] ...`,
//! `#N CACHED`, `#N DONE 41.3s`), BuildKit's multi-stage labels (`[builder 3/6]`), and the
//! classic builder's `Step i/m : ...` with ` ---> Using cache`.

use super::*;
use crate::monitor::log::docker_steps::DockerSteps;

fn read(log: &str) -> Vec<OrderFinding> {
    let mut steps = DockerSteps::new();
    log.lines().for_each(|l| steps.line(l));
    steps.finish().map(|d| d.order).unwrap_or_default()
}

/// A BuildKit build of `steps` (instruction, seconds it ran or None when cached).
fn buildkit(steps: &[(&str, Option<f64>)]) -> String {
    let total = steps.len() + 1;
    let mut log = format!(
        "#0 building with \"default\" instance using docker driver\n\n#1 [internal] load build definition from Dockerfile\n#1 DONE 0.0s\n\n#5 [ 1/{total}] FROM docker.io/library/python:3.11-slim@sha256:5f3b\n#5 DONE 0.0s\n"
    );
    for (i, (instruction, ran)) in steps.iter().enumerate() {
        let v = i + 6;
        log.push_str(&format!("\n#{v} [{:>2}/{total}] {instruction}\n", i + 2));
        match ran {
            None => log.push_str(&format!("#{v} CACHED\n")),
            Some(s) => log.push_str(&format!("#{v} 0.512 running step\n#{v} DONE {s:.1}s\n")),
        }
    }
    log
}

#[test]
fn copy_everything_before_pip_install_is_named_with_its_minutes_and_the_change() {
    let log = buildkit(&[
        ("WORKDIR /app", None),
        ("COPY . .", Some(0.8)),
        ("RUN pip install --no-cache-dir -r requirements.txt", Some(412.3)),
        ("RUN python -m compileall tts", Some(3.1)),
    ]);
    let found = read(&log);
    assert_eq!(found.len(), 1, "{found:?}");
    let f = &found[0];
    assert_eq!(f.mistake, OrderMistake::CopyBeforeInstall);
    assert_eq!(f.step, "[ 3/5] COPY . .");
    assert_eq!(f.install, "[ 4/5] RUN pip install --no-cache-dir -r requirements.txt");
    assert_eq!(f.rebuilt_millis, 412_300, "the install's own DONE time");
    assert_eq!(
        f.describe(),
        "[ 3/5] COPY . ., so [ 4/5] RUN pip install --no-cache-dir -r requirements.txt reran: 6 min 53 s of this build. Fix: copy only what the install needs first and install, then copy the rest: `COPY requirements.txt ./` and `RUN pip install --no-cache-dir -r requirements.txt` above `COPY . .`."
    );
}

#[test]
fn the_right_order_gives_nothing() {
    for log in [
        buildkit(&[
            ("WORKDIR /app", None),
            ("COPY requirements.txt .", None),
            ("RUN pip install -r requirements.txt", None),
            ("COPY . .", Some(0.9)),
            ("RUN python -m compileall tts", Some(2.0)),
        ]),
        buildkit(&[
            ("RUN apt-get update && apt-get install -y --no-install-recommends ffmpeg", None),
            ("COPY package.json package-lock.json ./", None),
            ("RUN npm ci", None),
            ("COPY src/ ./src/", Some(0.2)),
            ("ARG GIT_COMMIT", None),
            ("RUN echo $GIT_COMMIT > /app/version", Some(0.1)),
        ]),
        // A COPY of one script before an install that runs it is not the application.
        buildkit(&[("COPY install.sh /tmp/", None), ("RUN /tmp/install.sh && pip install -r /tmp/req.txt", None)]),
        // A stage's COPY --from another stage.
        buildkit(&[("COPY --from=builder /out /app", Some(1.0)), ("RUN pip install /app/wheels/*.whl", Some(9.0))]),
    ] {
        assert_eq!(read(&log), vec![], "{log}");
    }
}

#[test]
fn a_folder_copy_and_other_package_managers_get_their_manifest() {
    let found = read(&buildkit(&[("COPY tts/ ./tts/", Some(0.3)), ("RUN npm ci", Some(61.0))]));
    assert_eq!(found[0].mistake, OrderMistake::CopyBeforeInstall);
    assert!(
        found[0].change.contains("`COPY package.json package-lock.json ./` and `RUN npm ci` above `COPY tts/ ./tts/`"),
        "{}",
        found[0].change
    );
    let found = read(&buildkit(&[("ADD . /src", Some(0.3)), ("RUN poetry install --no-root", Some(30.0))]));
    assert!(found[0].change.contains("`COPY pyproject.toml poetry.lock ./`"), "{}", found[0].change);
    let found =
        read(&buildkit(&[("COPY . .", Some(0.3)), ("RUN apt-get update && apt-get install -y git", Some(20.0))]));
    assert!(
        found[0].change.contains("`RUN apt-get update && apt-get install -y git` above `COPY . .`"),
        "{}",
        found[0].change
    );
}

#[test]
fn an_install_cached_this_time_is_still_named_without_minutes() {
    let found = read(&buildkit(&[("COPY . .", None), ("RUN pip install -r requirements.txt", None)]));
    assert_eq!(found[0].rebuilt_millis, 0);
    assert!(found[0].describe().contains("reruns whenever anything before it changes"), "{}", found[0].describe());
}

#[test]
fn apt_get_update_apart_from_its_install() {
    let found = read(&buildkit(&[
        ("RUN apt-get update", None),
        ("RUN apt-get install -y ffmpeg libsndfile1", Some(40.0)),
        ("COPY requirements.txt .", None),
        ("RUN pip install -r requirements.txt", None),
    ]));
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].mistake, OrderMistake::AptUpdateApart);
    assert_eq!(found[0].step, "[ 2/5] RUN apt-get update");
    assert!(found[0].describe().contains("`RUN apt-get update && apt-get install -y ...`"), "{}", found[0].describe());
}

#[test]
fn a_per_build_value_before_the_install_classic_builder() {
    // The classic builder prints ARG as a step; no times.
    let log = "Step 1/6 : FROM python:3.11-slim\n ---> 2b8a1c\nStep 2/6 : ARG GIT_COMMIT\n ---> Running in 1a2b\n ---> 3c4d\nStep 3/6 : WORKDIR /app\n ---> Using cache\n ---> 5e6f\nStep 4/6 : COPY requirements.txt .\n ---> Using cache\n ---> 7a8b\nStep 5/6 : RUN pip install -r requirements.txt\n ---> Running in 9c0d\nCollecting torch\n ---> 1e2f\nStep 6/6 : COPY . .\n ---> 3a4b\nSuccessfully built 3a4b\n";
    let found = read(log);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].mistake, OrderMistake::VolatileBeforeInstall);
    assert_eq!(found[0].step, "Step 2/6 ARG GIT_COMMIT");
    assert_eq!(found[0].install, "Step 5/6 RUN pip install -r requirements.txt");
    assert_eq!(found[0].rebuilt_millis, 0, "the classic builder prints no times");
    assert!(found[0].change.contains("move `ARG GIT_COMMIT` below the dependency steps"), "{}", found[0].change);
}

#[test]
fn multi_stage_builds_are_read_per_stage_and_several_builds_apart() {
    let log = "#0 building with \"default\" instance using docker driver\n\
#4 [builder 1/4] FROM docker.io/library/python:3.11@sha256:aa\n#4 DONE 0.0s\n\
#5 [runtime 1/3] FROM docker.io/library/python:3.11-slim@sha256:bb\n#5 DONE 0.0s\n\
#6 [builder 2/4] COPY requirements.txt .\n#6 CACHED\n\
#7 [builder 3/4] RUN pip wheel -r requirements.txt -w /wheels && pip install -r requirements.txt\n#7 CACHED\n\
#8 [builder 4/4] COPY . .\n#8 DONE 0.4s\n\
#9 [runtime 2/3] COPY . /app\n#9 DONE 0.5s\n\
#10 [runtime 3/3] RUN pip install /app\n#10 DONE 95.0s\n\
#11 exporting to image\n#11 DONE 2.0s\n\
#0 building with \"default\" instance using docker driver\n\
#1 [1/3] FROM docker.io/library/node:20@sha256:cc\n#1 DONE 0.0s\n\
#2 [2/3] COPY . .\n#2 DONE 0.2s\n\
#3 [3/3] RUN npm ci\n#3 DONE 30.0s\n";
    let found = read(log);
    let steps: Vec<(&str, Option<&str>, u32, u64)> =
        found.iter().map(|f| (f.step.as_str(), f.stage.as_deref(), f.build, f.rebuilt_millis)).collect();
    assert_eq!(
        steps,
        vec![("[runtime 2/3] COPY . /app", Some("runtime"), 1, 95_000), ("[2/3] COPY . .", None, 2, 30_000)],
        "the builder stage is in the right order; the runtime stage and the second build are not"
    );
    assert!(found[0].describe().contains("(stage runtime)"), "{}", found[0].describe());
}

/// A whole build log, as CodeBuild writes it, read by the monitor's reader.
fn scan(log: &str) -> Vec<OrderFinding> {
    let mut scan = crate::monitor::log::build_log::LogScan::new();
    log.lines().for_each(|l| scan.line(l, 0));
    scan.finish().docker.map(|d| d.order).unwrap_or_default()
}

#[test]
fn a_base_image_pulled_in_pre_build_and_again_by_the_build() {
    let pre_build = "[Container] 2026/11/20 09:15:53.480203 Running command docker pull pytorch/pytorch:2.1.0-cuda12.1-cudnn8-devel\n\
2.1.0-cuda12.1-cudnn8-devel: Pulling from pytorch/pytorch\n\
Status: Downloaded newer image for pytorch/pytorch:2.1.0-cuda12.1-cudnn8-devel\n\
[Container] 2026/11/20 09:22:41.902771 Phase complete: PRE_BUILD State: SUCCEEDED\n\
[Container] 2026/11/20 09:22:43.191788 Running command docker buildx build --progress=plain -t tts .\n\
#0 building with \"builder\" instance using docker-container driver\n";
    let pulled_again = "#4 [1/3] FROM docker.io/pytorch/pytorch:2.1.0-cuda12.1-cudnn8-devel@sha256:5bd8f1e8\n\
#4 resolve docker.io/pytorch/pytorch:2.1.0-cuda12.1-cudnn8-devel@sha256:5bd8f1e8 done\n\
#4 sha256:7a3b 4.21GB / 4.21GB 301.2s done\n\
#4 extracting sha256:7a3b 52.3s done\n\
#4 DONE 353.9s\n\
#5 [2/3] COPY requirements.txt .\n#5 CACHED\n#6 [3/3] RUN pip install -r requirements.txt\n#6 CACHED\n";
    let found = scan(&format!("{pre_build}{pulled_again}"));
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].mistake, OrderMistake::BasePulledTwice);
    assert_eq!(found[0].rebuilt_millis, 353_900);
    assert_eq!(
        found[0].describe(),
        "[1/3] FROM docker.io/pytorch/pytorch:2.1.0-cuda12.1-cudnn8-devel@sha256:5bd8f1e8 pulled the base image again after PRE_BUILD's `docker pull pytorch/pytorch:2.1.0-cuda12.1-cudnn8-devel` (6 min 48 s): 5 min 54 s of this build. Fix: the builder did not use the image the daemon had pulled (a buildx builder on the docker-container driver keeps its own image store): drop the PRE_BUILD `docker pull`, or build with the default docker driver so the FROM reuses it."
    );
    // The default docker driver reuses the pulled image: a FROM of 0.0 s is no finding.
    let reused = pulled_again.replace("#4 DONE 353.9s", "#4 DONE 0.0s");
    assert_eq!(scan(&format!("{pre_build}{reused}")), vec![]);
    // Another image pulled in PRE_BUILD (the previous build's, for --cache-from) is not the base.
    let other = pre_build.replace(
        "docker pull pytorch/pytorch:2.1.0-cuda12.1-cudnn8-devel",
        "docker pull 1234.dkr.ecr.ap-south-1.amazonaws.com/tts:latest",
    );
    assert_eq!(scan(&format!("{other}{pulled_again}")), vec![]);
    // The sample log (a PRE_BUILD pull, then a FROM of 0.0 s on the docker driver): nothing.
    assert_eq!(scan(include_str!("../../../../events/logs/buildkit-partly-cached.log")), vec![]);
}

#[test]
fn image_names_compare_as_docker_resolves_them() {
    assert_eq!(image_name("python:3.11").as_deref(), Some("python:3.11"));
    assert_eq!(image_name("docker.io/library/python:3.11@sha256:aa AS base").as_deref(), Some("python:3.11"));
    assert_eq!(image_name("--platform=linux/amd64 ubuntu").as_deref(), Some("ubuntu:latest"));
    assert_eq!(image_name("localhost:5000/app").as_deref(), Some("localhost:5000/app:latest"));
}
