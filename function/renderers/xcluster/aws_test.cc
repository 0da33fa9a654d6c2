// Tests of function/renderers/xcluster/aws.cc.
