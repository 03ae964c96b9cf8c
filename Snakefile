# CIASA: skeleton attack -> rendered video -> re-extracted skeleton -> report.
#
#   snakemake --cores 2                                   the demo (config/config.yaml)
#   snakemake --cores 2 --configfile config/ci_tiny.yaml  overrides on top of it
#   snakemake results/videos/<CLIP>/perturbed.mp4         one video and what it needs
#   snakemake results/skeletons/<CLIP>/perturbed.npy      one clip's skeleton (from the shard's attack)
#
# Rules are thin calls into the packages' CLIs; see docs/pipeline.md.

configfile: "config/config.yaml"


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/model.smk"
include: "workflow/rules/attack.smk"
include: "workflow/rules/render.smk"
include: "workflow/rules/pose.smk"
include: "workflow/rules/classify.smk"
include: "workflow/rules/report.smk"


rule all:
    default_target: True
    input:
        f"{P.report_dir()}/index.html",
