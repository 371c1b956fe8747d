# Generated from acdc_bench/artefacts/ (one spec per paper artefact): do not edit; rewrite it:
#   python -m acdc_bench.artefacts make > make/artefacts.mk
# (or `acdc-bench task=artefacts format=make`); tests/test_artefacts.py checks it is current.
# EXP_<target>: the experiment `make <target>` runs (SCALE=cpu: <experiment>_cpu).

# paper 000
EXP_agree000 := agree000
EXP_mem000 := mem000
EXP_cost000 := cost000
# paper 001
EXP_fig1 := fig1_undertraining
EXP_fig2 := fig2_celeba
EXP_fig3 := fig3_methods
EXP_fig5 := fig5_flops
EXP_fig6 := fig6_distributions
EXP_fig7 := fig7_mask_iou
EXP_table1 := table1_rn50
EXP_table2 := table2_mobilenet
EXP_table4 := table4_weight_decay
EXP_table5 := table5_decompression
EXP_table3 := table3_channels
EXP_fig8 := fig8_decompression_wd
EXP_fig9 := fig9_sharpness
EXP_fig10 := fig10_interpolation
EXP_tableC2 := tableC2_sparse_fraction
EXP_tableD3 := tableD3_phase_length
EXP_tableE4 := tableE4_small_dense
EXP_figG2 := figG2_corruptions
EXP_tableF5 := tableF5_transfer
EXP_figF1 := figF1_transfer
EXP_table6 := table6_bert_rescaled
EXP_table7 := table7_bert_transfer
EXP_fig11 := fig11_bert_mrpc
EXP_fig12 := fig12_bert_cola
# paper 002
EXP_ast-table1 := ast_table1_relations
EXP_ast-table2 := ast_table2_cifar
EXP_ast-table3 := ast_table3_imagenet
EXP_ast-table4 := ast_table4_nm
EXP_ast-table5 := ast_table5_subnets
EXP_ast-table4-speed := ast_table4_speed
EXP_ast-fig4 := ast_fig4_inner_products
EXP_ast-fig6 := ast_fig6_subnet_layers
EXP_ast-fig7 := ast_fig7_adjustment

PAPER_TARGETS := agree000 mem000 cost000 fig1 fig2 fig3 fig5 fig6 fig7 table1 table2 table4 table5
PAPER_TARGETS += table3 fig8 fig9 fig10 tableC2 tableD3 tableE4 ast-table1 ast-table2 ast-table3
PAPER_TARGETS += ast-table4 ast-table5 ast-table4-speed ast-fig4 ast-fig6 ast-fig7
ANALYZED := agree000 table3 fig9 fig10 ast-fig6
SPEEDUP_TARGETS := cost000 ast-table4-speed
BEYOND_TARGETS := figG2 tableF5 figF1
BERT_TARGETS := table6 table7 fig11 fig12
SCALE_STUDY_PARTS := length phase weight_decay acdc_settings width distribution width_wide width_erk
