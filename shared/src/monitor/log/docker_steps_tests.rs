use super::*;

fn scan(log: &str) -> Option<DockerReuse> {
    let mut steps = DockerSteps::new();
    log.lines().for_each(|l| steps.line(l));
    steps.finish()
}

fn labels(group: &StepGroup) -> Vec<(String, StepOutcome)> {
    group.steps.iter().map(|s| (s.label.clone(), s.outcome)).collect()
}

#[test]
fn buildkit_cached_and_done_steps_in_its_own_numbering() {
    let r = scan(
        "#0 building with \"default\" instance using docker driver\n\n#1 [internal] load build definition from Dockerfile\n#1 DONE 0.0s\n\n#4 [1/5] FROM docker.io/library/python:3.11@sha256:abc\n#4 DONE 0.0s\n\n#5 [2/5] WORKDIR /app\n#5 CACHED\n\n#6 [3/5] COPY requirements.txt .\n#6 DONE 0.1s\n\n#7 [4/5] RUN pip install -r requirements.txt\n#7 0.512 Collecting torch\n#7 DONE 41.3s\n\n#8 [5/5] COPY . .\n#8 DONE 0.2s\n\n#9 exporting to image\n#9 DONE 1.0s\n",
    )
    .unwrap();
    assert_eq!((r.builder, r.builds, r.cached, r.rebuilt, r.unfinished), (Builder::Buildkit, 1, 1, 3, 0));
    assert_eq!(r.cached_percent(), Some(25));
    let d = &r.decisive;
    assert_eq!((d.reused(), d.count(), d.total), (2, 5, Some(5)), "FROM counts as reused");
    assert_eq!(d.first_rebuilt().map(Step::display).as_deref(), Some("[3/5] COPY requirements.txt ."));
    assert_eq!(d.summary(), "2 of 5 steps cached; first rebuilt: [3/5] COPY requirements.txt .");
    assert_eq!(d.steps[3].millis, Some(41_300));
}

#[test]
fn buildkit_stages_interleave_and_the_longest_stage_decides() {
    let r = scan(
        "#5 [builder 2/3] RUN make\n#6 [stage-1 2/2] COPY --from=builder /out /app\n#5 1.2 compiling\n#5 [builder 2/3] RUN make\n#5 CACHED\n#6 ERROR: failed to copy\n#7 [builder 3/3] RUN strip /out\n",
    )
    .unwrap();
    assert_eq!((r.cached, r.rebuilt, r.unfinished), (1, 1, 1));
    assert_eq!(r.decisive.stage.as_deref(), Some("stage-1"));
    assert_eq!(labels(&r.decisive), vec![("[stage-1 2/2]".to_owned(), StepOutcome::Failed)]);
    // Timed stages: the one whose steps ran longest decides, whatever their order in the log.
    let r = scan(
        "#4 [deps 1/3] FROM python:3.11\n#4 DONE 0.0s\n#5 [deps 2/3] COPY requirements.txt .\n#5 DONE 0.1s\n#6 [deps 3/3] RUN pip install -r requirements.txt\n#6 DONE 612.0s\n#7 [stage-1 2/3] COPY --from=deps /venv /venv\n#7 DONE 9.0s\n#8 [stage-1 3/3] COPY . .\n#8 DONE 0.3s\n",
    )
    .unwrap();
    assert_eq!(r.decisive.stage.as_deref(), Some("deps"));
    assert_eq!(
        r.decisive.summary(),
        "1 of 3 steps cached in stage deps; first rebuilt: [deps 2/3] COPY requirements.txt ."
    );
}

#[test]
fn padded_numbers_keep_the_log_s_own_label() {
    let r = scan("#8 [ 5/20] COPY requirements.txt .\n#8 DONE 0.1s\n").unwrap();
    assert_eq!((r.decisive.stage.clone(), r.decisive.total), (None, Some(20)));
    assert_eq!(r.decisive.steps[0].display(), "[ 5/20] COPY requirements.txt .", "as printed, to be found in the log");
}

#[test]
fn several_builds_add_up_and_the_longest_decides() {
    let one = "#1 [internal] load build definition from Dockerfile\n#1 DONE 0.0s\n#5 [2/2] RUN a\n#5 CACHED\n";
    let two = "#1 [internal] load build definition from Dockerfile\n#1 DONE 0.0s\n#5 [2/2] RUN b\n#5 DONE 3.0s\n";
    let r = scan(&format!("{one}{two}")).unwrap();
    assert_eq!((r.builds, r.cached, r.rebuilt), (2, 1, 1));
    assert_eq!((r.decisive.build, r.decisive.first_rebuilt().map(Step::display)), (2, Some("[2/2] RUN b".into())));
}

#[test]
fn classic_builder_using_cache() {
    let r = scan(
        "Sending build context to Docker daemon  1.2MB\nStep 1/5 : FROM python:3.11\n ---> 5f1ab1e3b0c4\nStep 2/5 : WORKDIR /app\n ---> Using cache\n ---> 9c2f4d1a77e0\nStep 3/5 : COPY requirements.txt .\n ---> 7a1d2e3f4b5c\nStep 4/5 : RUN pip install -r requirements.txt\n ---> Running in 3e4f5a6b7c8d\nCollecting torch\nRemoving intermediate container 3e4f5a6b7c8d\n ---> 0d9e8f7a6b5c\nStep 5/5 : COPY . .\n ---> 1a2b3c4d5e6f\nSuccessfully built 1a2b3c4d5e6f\n",
    )
    .unwrap();
    assert_eq!((r.builder, r.cached, r.rebuilt, r.unfinished), (Builder::Classic, 1, 3, 0));
    assert_eq!(r.decisive.summary(), "2 of 5 steps cached; first rebuilt: Step 3/5 COPY requirements.txt .");
}

#[test]
fn a_classic_arg_before_from_runs_nothing_and_from_closes_it() {
    let r = scan(
        "Step 1/6 : ARG OS=buster-slim\nStep 2/6 : FROM python:3.11-${OS}\n ---> 5f1ab1e3b0c4\nStep 3/6 : WORKDIR /app\n ---> Using cache\n ---> 9c2f4d1a77e0\nStep 4/6 : COPY requirements.txt .\n ---> Using cache\n ---> 7a1d2e3f4b5c\nStep 5/6 : RUN pip install -r requirements.txt\n ---> Using cache\n ---> 0d9e8f7a6b5c\nStep 6/6 : COPY . .\n ---> 1a2b3c4d5e6f\nSuccessfully built 1a2b3c4d5e6f\n",
    )
    .unwrap();
    assert_eq!((r.cached, r.rebuilt, r.unfinished), (4, 1, 0), "the ARG made no layer, the FROM is not a step");
    assert_eq!(r.decisive.summary(), "5 of 6 steps cached; first rebuilt: Step 6/6 COPY . .");
}

#[test]
fn docker_before_1_13_prints_no_total() {
    let r = scan("Step 1 : FROM ubuntu:14.04\n ---> 91e54dfb1179\nStep 2 : ADD . /src\n ---> 7bd3f1a2c4e5\nRemoving intermediate container 1\n").unwrap();
    assert_eq!(r.decisive.summary(), "1 of 2 steps cached; first rebuilt: Step 2 ADD . /src");
}

#[test]
fn layers_downloaded_from_a_registry_cache_are_hits_not_rebuilds() {
    let r = scan(
        "#0 building with \"builder\" instance using docker-container driver\n#3 importing cache manifest from 123456789012.dkr.ecr.ap-south-1.amazonaws.com/tts:cache\n#3 DONE 0.5s\n#5 [1/3] FROM docker.io/pytorch/pytorch:2.3.0-cuda12.1-cudnn8-runtime@sha256:abc\n#5 DONE 0.0s\n#6 [2/3] RUN pip install -r requirements.txt\n#6 sha256:aa11 10.49MB / 41.21MB 0.3s\n#6 sha256:aa11 41.21MB / 41.21MB 1.1s done\n#6 extracting sha256:aa11\n#6 extracting sha256:aa11 2.1s done\n#6 DONE 3.4s\n#7 [3/3] COPY . .\n#7 DONE 0.2s\n",
    )
    .unwrap();
    assert_eq!((r.cached, r.remote, r.rebuilt), (1, 1, 1));
    assert_eq!(r.cache_from.as_deref(), Some("123456789012.dkr.ecr.ap-south-1.amazonaws.com/tts:cache"));
    assert_eq!(r.decisive.steps[1].outcome, StepOutcome::Remote);
    assert_eq!(r.decisive.summary(), "2 of 3 steps cached; first rebuilt: [3/3] COPY . .");
}

#[test]
fn ansi_colours_and_crlf_are_read_through() {
    let r = scan("\u{1b}[34m#5 [2/2] RUN a\u{1b}[0m\r\n#5 CACHED\r\n").unwrap();
    assert_eq!((r.cached, r.rebuilt), (1, 0));
    assert_eq!(r.decisive.steps[0].instruction, "RUN a");
}

#[test]
fn a_log_cut_mid_step_leaves_it_unfinished() {
    let r = scan("Step 1/3 : FROM x\n ---> 1\nStep 2/3 : RUN a\n ---> Using cache\nStep 3/3 : RUN b\n").unwrap();
    assert_eq!((r.cached, r.rebuilt, r.unfinished), (1, 0, 1));
    assert_eq!(r.decisive.first_rebuilt(), None);
}

#[test]
fn no_docker_build_is_none() {
    assert_eq!(scan("[Container] 2026/11/20 09:15:03.1 Entering phase BUILD\n#not a step\nStep right up\n"), None);
}

#[test]
fn names_are_cut_and_steps_bounded() {
    let long = "x".repeat(500);
    let r = scan(&format!("#2 [2/2] RUN {long}\n#2 DONE 1.0s\n")).unwrap();
    assert!(r.decisive.steps[0].instruction.chars().count() <= NAME_LIMIT + 3);
    let mut log = String::new();
    for i in 0..(MAX_STEPS as u32 + 10) {
        log.push_str(&format!("#{} [{}/9999] RUN step\n", i + 2, i + 2));
    }
    let r = scan(&log).unwrap();
    assert_eq!(r.unfinished, MAX_STEPS as u32 + 10);
}
